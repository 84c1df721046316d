import { Body, Controller, Get, Headers, Patch, Put, Query, Req } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { etagHash } from '@lodge/api-types';
import { InvalidArgumentError } from '@lodge/common';
import { emptySync, sync } from '../http/lxd-response';
import { resolveProject } from '../http/project';
import { AllowUntrusted } from '../trust/trust.guard';
import { TrustService } from '../trust/trust.service';
import { ServerConfigService } from './server-config.service';
import { ServerInfoService } from './server-info.service';

@Controller()
export class ServerController {
  constructor(
    private readonly info: ServerInfoService,
    private readonly config: ServerConfigService,
    private readonly trust: TrustService,
  ) {}

  @Get()
  @AllowUntrusted()
  root() {
    return sync(['/1.0']);
  }

  /** Untrusted clients get the reduced form (no config, no environment, no ETag), as LXD. */
  @Get('1.0')
  @AllowUntrusted()
  async get(@Query('project') project: unknown, @Req() req: IncomingMessage) {
    if (!(await this.trust.authenticate(req)).trusted) return sync(this.info.untrusted());
    const info = await this.info.info(resolveProject(project));
    return sync(info, { etag: etagHash(info.config) });
  }

  @Put('1.0')
  async put(@Body() body: unknown, @Headers('if-match') ifMatch: string | undefined, @Query('project') project: unknown) {
    resolveProject(project);
    await this.config.replace(configOf(body), ifMatch);
    return emptySync();
  }

  @Patch('1.0')
  async patch(@Body() body: unknown, @Headers('if-match') ifMatch: string | undefined, @Query('project') project: unknown) {
    resolveProject(project);
    await this.config.patch(configOf(body), ifMatch);
    return emptySync();
  }
}

function configOf(body: unknown): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new InvalidArgumentError('Request body must be a JSON object');
  return (body as { config?: unknown }).config ?? {};
}
