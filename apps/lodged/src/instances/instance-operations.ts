/**
 * The REST side of the instance use cases: which calls are async operations (class task, with the
 * instance under `resources`), and which lifecycle events each success emits. The work itself is
 * InstancesService's; this file only schedules and announces it.
 */
import { Injectable } from '@nestjs/common';
import { InstancesService } from '@lodge/instance';
import { EventsService } from '../events/events.service';
import { LodgeOperation } from '../operations/operation';
import { OperationsService } from '../operations/operations.service';
import type { RequestAuth } from '../trust/trust.service';
import { StateChange } from './instance-request';
import { instanceResources, instanceUrl } from './instance-view';

/** LXD's operation descriptions and lifecycle actions per state action. */
const STATE_ACTIONS: Record<StateChange['action'], { description: string; event: string }> = {
  start: { description: 'Starting instance', event: 'instance-started' },
  stop: { description: 'Stopping instance', event: 'instance-stopped' },
  restart: { description: 'Restarting instance', event: 'instance-restarted' },
  freeze: { description: 'Freezing instance', event: 'instance-paused' },
  unfreeze: { description: 'Unfreezing instance', event: 'instance-resumed' },
};

@Injectable()
export class InstanceOperations {
  constructor(
    private readonly instances: InstancesService,
    private readonly operations: OperationsService,
    private readonly events: EventsService,
  ) {}

  /** Runs `work` as a task operation on the named instances. */
  task(description: string, names: string[], project: string, work: () => Promise<Record<string, unknown> | void>): LodgeOperation {
    return this.operations.createAndStart({
      class: 'task',
      description,
      project,
      resources: instanceResources(names),
      run: () => work(),
    });
  }

  /** Applies one state action (the work of PUT .../state and of each instance in a bulk change). */
  async changeState(name: string, change: StateChange, project: string, auth?: RequestAuth): Promise<void> {
    switch (change.action) {
      case 'start':
        await this.instances.start(name);
        break;
      case 'stop': {
        const ephemeral = (await this.instances.get(name)).ephemeral;
        await this.instances.stop(name, change);
        this.lifecycle(change.force ? 'instance-stopped' : 'instance-shutdown', name, project, auth);
        if (ephemeral) this.lifecycle('instance-deleted', name, project, auth);
        return;
      }
      case 'restart':
        await this.instances.restart(name, change);
        break;
      case 'freeze':
        await this.instances.freeze(name);
        break;
      case 'unfreeze':
        await this.instances.unfreeze(name);
        break;
    }
    this.lifecycle(STATE_ACTIONS[change.action].event, name, project, auth);
  }

  stateOperation(name: string, change: StateChange, project: string, auth?: RequestAuth): LodgeOperation {
    return this.task(STATE_ACTIONS[change.action].description, [name], project, () => this.changeState(name, change, project, auth));
  }

  lifecycle(action: string, name: string, project: string, auth?: RequestAuth, context?: Record<string, unknown>): void {
    this.events.emitLifecycle(
      {
        action,
        source: instanceUrl(name),
        context: context ?? {},
        requestor: auth
          ? { username: auth.fingerprint ?? (auth.protocol === 'unix' ? 'root' : ''), protocol: auth.protocol, address: auth.address }
          : null,
      },
      project,
    );
  }
}
