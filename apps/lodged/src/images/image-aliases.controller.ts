import { Body, Controller, Delete, Get, Headers, Param, Patch, Post, Put, Query, Req } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { emptySync, sync } from '../http/lxd-response';
import { resolveProject } from '../http/project';
import { parseRecursion } from '../http/recursion';
import { TrustService } from '../trust/trust.service';
import { ImagesApiService } from './images-api.service';

/**
 * /1.0/images/aliases[/{name}]. Alias names may hold slashes ("juju/ubuntu@22.04/amd64"), so the
 * name is the rest of the path.
 */
@Controller('1.0/images/aliases')
export class ImageAliasesController {
  constructor(
    private readonly images: ImagesApiService,
    private readonly trust: TrustService,
  ) {}

  @Get()
  async list(@Query('recursion') recursion: unknown, @Query('project') project: unknown) {
    const p = resolveProject(project);
    if (parseRecursion(recursion) > 0) return sync(await this.images.listAliases(p));
    return sync(await this.images.aliasUrls(p));
  }

  @Post()
  async create(@Body() body: unknown, @Query('project') project: unknown, @Req() req: IncomingMessage) {
    const location = await this.images.createAlias(body, resolveProject(project), await this.trust.authenticate(req));
    return sync(null, { location });
  }

  @Get('*name')
  async get(@Param('name') name: string | string[], @Query('project') project: unknown) {
    const { alias, etag } = await this.images.getAlias(aliasName(name), resolveProject(project));
    return sync(alias, { etag });
  }

  @Put('*name')
  async put(
    @Param('name') name: string | string[],
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Query('project') project: unknown,
    @Req() req: IncomingMessage,
  ) {
    await this.images.replaceAlias(aliasName(name), body, ifMatch, resolveProject(project), await this.trust.authenticate(req));
    return emptySync();
  }

  @Patch('*name')
  async patch(
    @Param('name') name: string | string[],
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Query('project') project: unknown,
    @Req() req: IncomingMessage,
  ) {
    await this.images.patchAlias(aliasName(name), body, ifMatch, resolveProject(project), await this.trust.authenticate(req));
    return emptySync();
  }

  /** Rename. */
  @Post('*name')
  async rename(@Param('name') name: string | string[], @Body() body: unknown, @Query('project') project: unknown, @Req() req: IncomingMessage) {
    const location = await this.images.renameAlias(aliasName(name), body, resolveProject(project), await this.trust.authenticate(req));
    return sync(null, { location });
  }

  @Delete('*name')
  async remove(@Param('name') name: string | string[], @Query('project') project: unknown, @Req() req: IncomingMessage) {
    await this.images.deleteAlias(aliasName(name), resolveProject(project), await this.trust.authenticate(req));
    return emptySync();
  }
}

/** Express 5 hands a wildcard parameter over as its path segments. */
function aliasName(param: string | string[]): string {
  return Array.isArray(param) ? param.join('/') : param;
}
