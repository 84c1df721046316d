import { Body, Controller, Get, Post, Put, Query, Req } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { InvalidArgumentError } from '@lodge/common';
import { InstancesService } from '@lodge/instance';
import { async, sync } from '../http/lxd-response';
import { resolveProject } from '../http/project';
import { parseRecursion } from '../http/recursion';
import { TrustService } from '../trust/trust.service';
import { matchesFilter, parseFilter } from './instance-filter';
import { InstanceOperations } from './instance-operations';
import { parseCreate, parseStateChange } from './instance-request';
import { instanceUrl, renderFull, renderInstance } from './instance-view';

/** Which instances a bulk state change touches: those the action applies to. */
const APPLIES: Record<string, (status: string) => boolean> = {
  start: (s) => s === 'Stopped',
  stop: (s) => s !== 'Stopped',
  restart: (s) => s !== 'Stopped',
  freeze: (s) => s === 'Running',
  unfreeze: (s) => s === 'Frozen',
};

/** GET/POST/PUT on the instance collection, under /1.0/instances and the legacy /1.0/containers. */
@Controller(['1.0/instances', '1.0/containers'])
export class InstancesController {
  constructor(
    private readonly instances: InstancesService,
    private readonly ops: InstanceOperations,
    private readonly trust: TrustService,
  ) {}

  /**
   * recursion 0: URLs; 1: instance objects; 2: objects with their state. Everything comes from two
   * queries (instances, profiles); state is read from the kernel for the running ones only.
   */
  @Get()
  async list(
    @Query('recursion') recursion: unknown,
    @Query('filter') filter: unknown,
    @Query('project') project: unknown,
    @Query('instance-type') instanceType: unknown,
  ) {
    resolveProject(project);
    const depth = parseRecursion(recursion);
    if (instanceType !== undefined && instanceType !== '' && instanceType !== 'container') return sync([]);
    if (filter !== undefined && typeof filter !== 'string') throw new InvalidArgumentError('Invalid filter');
    const parsed = parseFilter(filter ?? '');
    if (depth === 0 && !parsed) return sync((await this.instances.listNames()).map(instanceUrl));
    const all = (await this.instances.listExpanded()).filter((i) => matchesFilter(renderInstance(i), parsed));
    if (depth === 0) return sync(all.map((i) => instanceUrl(i.row.name)));
    if (depth === 1) return sync(all.map(renderInstance));
    const states = await Promise.all(all.map((i) => this.instances.runtimeState(i.row.name, { row: i.row })));
    return sync(all.map((i, n) => renderFull(i, states[n])));
  }

  /** Create: checked now (4xx for bad input, nothing made), made in a task operation. */
  @Post()
  async create(@Body() body: unknown, @Query('project') project: unknown, @Req() req: IncomingMessage) {
    const p = resolveProject(project);
    const auth = await this.trust.authenticate(req);
    const request = parseCreate(body);
    const plan = await this.instances.prepareCreate(request);
    const op = this.ops.task('Creating instance', [request.name], p, async () => {
      await this.instances.createPlanned(plan);
      this.ops.lifecycle('instance-created', request.name, p, auth);
    });
    return async(op.render());
  }

  /** Bulk state change (`lxc start --all`, instance_bulk_state_change): {state: {action, ...}}. */
  @Put()
  async changeAll(@Body() body: unknown, @Query('project') project: unknown, @Req() req: IncomingMessage) {
    const p = resolveProject(project);
    const auth = await this.trust.authenticate(req);
    const state = (body as { state?: unknown } | null)?.state;
    if (typeof state !== 'object' || state === null) throw new InvalidArgumentError('Invalid request body: expected {"state": {"action": ...}}');
    const change = parseStateChange(state);
    const targets = (await this.instances.listExpanded()).filter((i) => APPLIES[change.action](i.status)).map((i) => i.row.name);
    const op = this.ops.task('Updating instance states', targets, p, async () => {
      const results = await Promise.allSettled(targets.map((name) => this.ops.changeState(name, change, p, auth)));
      const failed = results
        .map((r, n) => (r.status === 'rejected' ? `${targets[n]}: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}` : undefined))
        .filter((m): m is string => !!m);
      if (failed.length > 0) throw new Error(failed.join('; '));
    });
    return async(op.render());
  }
}
