import { Body, Controller, Get, Param, Put, Query, Req } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { InstancesService } from '@lodge/instance';
import { async, sync } from '../http/lxd-response';
import { resolveProject } from '../http/project';
import { TrustService } from '../trust/trust.service';
import { InstanceOperations } from './instance-operations';
import { parseStateChange } from './instance-request';
import { renderState } from './instance-view';

/** /state: what runs now (GET) and start/stop/restart/freeze/unfreeze (PUT, a task operation). */
@Controller(['1.0/instances/:name/state', '1.0/containers/:name/state'])
export class InstanceStateController {
  constructor(
    private readonly instances: InstancesService,
    private readonly ops: InstanceOperations,
    private readonly trust: TrustService,
  ) {}

  @Get()
  async get(@Param('name') name: string, @Query('project') project: unknown) {
    resolveProject(project);
    const row = await this.instances.get(name);
    return sync(renderState(await this.instances.runtimeState(name, { withDiskUsage: true, row })));
  }

  /** The body is checked now; whether the action fits the instance's state is the operation's answer, as in LXD. */
  @Put()
  async change(@Param('name') name: string, @Body() body: unknown, @Query('project') project: unknown, @Req() req: IncomingMessage) {
    const p = resolveProject(project);
    const auth = await this.trust.authenticate(req);
    const change = parseStateChange(body);
    await this.instances.get(name);
    return async(this.ops.stateOperation(name, change, p, auth).render());
  }
}
