import { Body, Controller, Delete, Get, Headers, Param, Patch, Post, Put, Query, Req } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { emptySync, sync } from '../http/lxd-response';
import { resolveProject } from '../http/project';
import { parseRecursion } from '../http/recursion';
import { TrustService } from '../trust/trust.service';
import { profileUrl } from './profile-view';
import { ProfilesService } from './profiles.service';

/** /1.0/profiles: thin translation to ProfilesService. */
@Controller('1.0/profiles')
export class ProfilesController {
  constructor(
    private readonly profiles: ProfilesService,
    private readonly trust: TrustService,
  ) {}

  @Get()
  async list(@Query('recursion') recursion: unknown, @Query('project') project: unknown) {
    const p = resolveProject(project);
    if (parseRecursion(recursion) > 0) return sync(await this.profiles.list(p));
    return sync((await this.profiles.names(p)).map(profileUrl));
  }

  @Post()
  async create(@Body() body: unknown, @Query('project') project: unknown, @Req() req: IncomingMessage) {
    const location = await this.profiles.create(body, resolveProject(project), await this.trust.authenticate(req));
    return sync(null, { location });
  }

  @Get(':name')
  async get(@Param('name') name: string, @Query('project') project: unknown) {
    const { profile, etag } = await this.profiles.get(name, resolveProject(project));
    return sync(profile, { etag });
  }

  @Put(':name')
  async put(
    @Param('name') name: string,
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Query('project') project: unknown,
    @Req() req: IncomingMessage,
  ) {
    await this.profiles.replace(name, body, ifMatch, resolveProject(project), await this.trust.authenticate(req));
    return emptySync();
  }

  @Patch(':name')
  async patch(
    @Param('name') name: string,
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Query('project') project: unknown,
    @Req() req: IncomingMessage,
  ) {
    await this.profiles.patch(name, body, ifMatch, resolveProject(project), await this.trust.authenticate(req));
    return emptySync();
  }

  /** Rename. */
  @Post(':name')
  async rename(@Param('name') name: string, @Body() body: unknown, @Query('project') project: unknown, @Req() req: IncomingMessage) {
    const location = await this.profiles.rename(name, body, resolveProject(project), await this.trust.authenticate(req));
    return sync(null, { location });
  }

  @Delete(':name')
  async remove(@Param('name') name: string, @Query('project') project: unknown, @Req() req: IncomingMessage) {
    await this.profiles.delete(name, resolveProject(project), await this.trust.authenticate(req));
    return emptySync();
  }
}
