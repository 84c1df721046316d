import { Body, Controller, Delete, Get, Headers, Param, Patch, Post, Put, Query, Req } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { certificateUrl, etagHash } from '@lodge/api-types';
import { async, emptySync, sync } from '../http/lxd-response';
import { parseRecursion } from '../http/recursion';
import { CertificatesService } from './certificates.service';
import { AllowUntrusted } from './trust.guard';
import { TrustService } from './trust.service';

/** /1.0/certificates: the trust store. Not project-scoped (?project= is ignored, as LXD). */
@Controller('1.0/certificates')
export class CertificatesController {
  constructor(
    private readonly certificates: CertificatesService,
    private readonly trust: TrustService,
  ) {}

  @Get()
  async list(@Query('recursion') recursion: unknown) {
    const all = await this.certificates.list();
    return sync(parseRecursion(recursion) > 0 ? all : all.map((c) => certificateUrl(c.fingerprint)));
  }

  /** Untrusted clients may call this (with a trust password or a token). */
  @Post()
  @AllowUntrusted()
  async create(@Body() body: unknown, @Req() req: IncomingMessage) {
    const result = await this.certificates.add(body, await this.trust.authenticate(req));
    if (result.kind === 'token') return async(result.operation.render());
    return sync(null, { location: certificateUrl(result.fingerprint) });
  }

  @Get(':fingerprint')
  async get(@Param('fingerprint') fingerprint: string) {
    const cert = await this.certificates.get(fingerprint);
    return sync(cert, { etag: etagHash(cert) });
  }

  @Put(':fingerprint')
  async put(@Param('fingerprint') fingerprint: string, @Body() body: unknown, @Headers('if-match') ifMatch: string | undefined, @Req() req: IncomingMessage) {
    await this.certificates.replace(fingerprint, body, ifMatch, await this.trust.authenticate(req));
    return emptySync();
  }

  @Patch(':fingerprint')
  async patch(@Param('fingerprint') fingerprint: string, @Body() body: unknown, @Headers('if-match') ifMatch: string | undefined, @Req() req: IncomingMessage) {
    await this.certificates.patch(fingerprint, body, ifMatch, await this.trust.authenticate(req));
    return emptySync();
  }

  @Delete(':fingerprint')
  async remove(@Param('fingerprint') fingerprint: string, @Req() req: IncomingMessage) {
    await this.certificates.remove(fingerprint, await this.trust.authenticate(req));
    return emptySync();
  }
}
