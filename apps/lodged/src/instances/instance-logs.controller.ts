import { Controller, Delete, Get, Param, Query } from '@nestjs/common';
import { InstancesService } from '@lodge/instance';
import { emptySync, sync } from '../http/lxd-response';
import { resolveProject } from '../http/project';
import { FileResponse } from './file-response';
import { instanceUrl } from './instance-view';

/** /logs (lxc.log for `lxc info --show-log`, console.log) and the console log at /console. */
@Controller(['1.0/instances/:name', '1.0/containers/:name'])
export class InstanceLogsController {
  constructor(private readonly instances: InstancesService) {}

  @Get('logs')
  async list(@Param('name') name: string, @Query('project') project: unknown) {
    resolveProject(project);
    return sync((await this.instances.listLogs(name)).map((f) => `${instanceUrl(name)}/logs/${f}`));
  }

  @Get('logs/:file')
  async read(@Param('name') name: string, @Param('file') file: string, @Query('project') project: unknown) {
    resolveProject(project);
    return new FileResponse(await this.instances.readLog(name, file), file);
  }

  @Delete('logs/:file')
  async remove(@Param('name') name: string, @Param('file') file: string, @Query('project') project: unknown) {
    resolveProject(project);
    await this.instances.deleteLog(name, file);
    return emptySync();
  }

  /** The console log's content (LXD 5.0 GET .../console; `lxc console --show-log`). */
  @Get('console')
  async console(@Param('name') name: string, @Query('project') project: unknown) {
    resolveProject(project);
    return new FileResponse(await this.instances.consoleLog(name), 'console.log');
  }
}
