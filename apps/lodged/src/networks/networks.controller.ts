import { Body, Controller, Delete, Get, Headers, Param, Patch, Post, Put, Query, Req } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { emptySync, sync } from '../http/lxd-response';
import { resolveProject } from '../http/project';
import { parseRecursion } from '../http/recursion';
import { TrustService } from '../trust/trust.service';
import { NetworksApiService } from './networks-api.service';

/** /1.0/networks: thin translation to NetworksApiService. Networks are host-wide; ?project= is accepted. */
@Controller('1.0/networks')
export class NetworksController {
  constructor(
    private readonly networks: NetworksApiService,
    private readonly trust: TrustService,
  ) {}

  @Get()
  async list(@Query('recursion') recursion: unknown, @Query('project') project: unknown) {
    resolveProject(project);
    if (parseRecursion(recursion) > 0) return sync(await this.networks.list());
    return sync(await this.networks.urls());
  }

  @Post()
  async create(@Body() body: unknown, @Query('project') project: unknown, @Req() req: IncomingMessage) {
    resolveProject(project);
    const location = await this.networks.create(body, await this.trust.authenticate(req));
    return sync(null, { location });
  }

  @Get(':name')
  async get(@Param('name') name: string, @Query('project') project: unknown) {
    resolveProject(project);
    const { network, etag } = await this.networks.get(name);
    return sync(network, { etag });
  }

  @Put(':name')
  async put(@Param('name') name: string, @Body() body: unknown, @Headers('if-match') ifMatch: string | undefined, @Req() req: IncomingMessage) {
    await this.networks.update(name, body, ifMatch, 'put', await this.trust.authenticate(req));
    return emptySync();
  }

  @Patch(':name')
  async patch(@Param('name') name: string, @Body() body: unknown, @Headers('if-match') ifMatch: string | undefined, @Req() req: IncomingMessage) {
    await this.networks.update(name, body, ifMatch, 'patch', await this.trust.authenticate(req));
    return emptySync();
  }

  /** Rename. */
  @Post(':name')
  async rename(@Param('name') name: string, @Body() body: unknown, @Req() req: IncomingMessage) {
    const location = await this.networks.rename(name, body, await this.trust.authenticate(req));
    return sync(null, { location });
  }

  @Delete(':name')
  async remove(@Param('name') name: string, @Req() req: IncomingMessage) {
    await this.networks.delete(name, await this.trust.authenticate(req));
    return emptySync();
  }

  @Get(':name/state')
  async state(@Param('name') name: string) {
    return sync(await this.networks.state(name));
  }

  @Get(':name/leases')
  async leases(@Param('name') name: string) {
    return sync(await this.networks.leases(name));
  }
}
