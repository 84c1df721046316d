import { Body, Controller, Delete, Get, Headers, Param, Patch, Post, Put, Query, Req } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { ConflictError } from '@lodge/common';
import { InstancesService } from '@lodge/instance';
import { checkIfMatch } from '../http/etag';
import { async, sync } from '../http/lxd-response';
import { resolveProject } from '../http/project';
import { parseRecursion } from '../http/recursion';
import { TrustService } from '../trust/trust.service';
import { InstanceOperations } from './instance-operations';
import { parsePatch, parsePut, parseRename } from './instance-request';
import { instanceEtag, instanceWritable, renderFull, renderInstance } from './instance-view';

/** One instance: get, replace, patch, rename, delete (and its empty snapshot list). */
@Controller(['1.0/instances/:name', '1.0/containers/:name'])
export class InstanceController {
  constructor(
    private readonly instances: InstancesService,
    private readonly ops: InstanceOperations,
    private readonly trust: TrustService,
  ) {}

  /** recursion=1 gives the full object with its state (instance_get_full), as `lxc info` reads it. */
  @Get()
  async get(@Param('name') name: string, @Query('recursion') recursion: unknown, @Query('project') project: unknown) {
    resolveProject(project);
    const depth = parseRecursion(recursion);
    const i = await this.instances.getExpanded(name);
    const etag = instanceEtag(i.row);
    if (depth === 0) return sync(renderInstance(i), { etag });
    return sync(renderFull(i, await this.instances.runtimeState(name, { withDiskUsage: true, row: i.row })), { etag });
  }

  /** Replaces the writable fields. Applied now (4xx on bad input); answered as an operation, as LXD does. */
  @Put()
  async replace(@Param('name') name: string, @Body() body: unknown, @Headers('if-match') ifMatch: string | undefined, @Query('project') project: unknown, @Req() req: IncomingMessage) {
    const p = resolveProject(project);
    const row = await this.instances.get(name);
    checkIfMatch(ifMatch, instanceWritable(row));
    await this.instances.update(name, parsePut(body, row));
    this.ops.lifecycle('instance-updated', name, p, await this.trust.authenticate(req));
    return async(this.ops.task('Updating instance', [name], p, async () => undefined).render());
  }

  /** Merges config and devices key by key; answered synchronously, as LXD does. */
  @Patch()
  async patch(@Param('name') name: string, @Body() body: unknown, @Headers('if-match') ifMatch: string | undefined, @Query('project') project: unknown, @Req() req: IncomingMessage) {
    const p = resolveProject(project);
    const row = await this.instances.get(name);
    checkIfMatch(ifMatch, instanceWritable(row));
    await this.instances.update(name, parsePatch(body, row));
    this.ops.lifecycle('instance-updated', name, p, await this.trust.authenticate(req));
    return sync({});
  }

  /** Rename (`lxc rename`, `lxc move` on one server): checked now, done in a task operation. */
  @Post()
  async rename(@Param('name') name: string, @Body() body: unknown, @Query('project') project: unknown, @Req() req: IncomingMessage) {
    const p = resolveProject(project);
    const auth = await this.trust.authenticate(req);
    const row = await this.instances.get(name);
    const newName = parseRename(body, row);
    await this.instances.validateRename(name, newName);
    const op = this.ops.task('Renaming instance', [name], p, async () => {
      await this.instances.rename(name, newName);
      this.ops.lifecycle('instance-renamed', newName, p, auth, { old_name: name });
    });
    return async(op.render());
  }

  @Delete()
  async remove(@Param('name') name: string, @Query('project') project: unknown, @Req() req: IncomingMessage) {
    const p = resolveProject(project);
    const auth = await this.trust.authenticate(req);
    await this.instances.get(name);
    if (this.instances.status(name) !== 'Stopped') throw new ConflictError('Instance is running');
    const op = this.ops.task('Deleting instance', [name], p, async () => {
      await this.instances.delete(name);
      this.ops.lifecycle('instance-deleted', name, p, auth);
    });
    return async(op.render());
  }

  /** Snapshots do not exist yet: the list is empty (`lxc info` reads it). */
  @Get('snapshots')
  async snapshots(@Param('name') name: string, @Query('project') project: unknown) {
    resolveProject(project);
    await this.instances.get(name);
    return sync([]);
  }
}
