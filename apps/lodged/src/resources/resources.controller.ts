import { Controller, Get, Param, Query } from '@nestjs/common';
import { sync } from '../http/lxd-response';
import { resolveProject } from '../http/project';
import { HostResourcesService } from './host-resources.service';

/** GET /1.0/resources and GET /1.0/storage-pools/{name}/resources. */
@Controller('1.0')
export class ResourcesController {
  constructor(private readonly resources: HostResourcesService) {}

  @Get('resources')
  async host() {
    return sync(await this.resources.host());
  }

  @Get('storage-pools/:name/resources')
  async pool(@Param('name') name: string, @Query('project') project: unknown) {
    resolveProject(project);
    return sync(await this.resources.pool(name));
  }
}
