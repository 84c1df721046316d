import { Body, Controller, Delete, Get, Headers, Param, Patch, Post, Put, Query, Req } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { async, emptySync, sync } from '../http/lxd-response';
import { resolveProject } from '../http/project';
import { parseRecursion } from '../http/recursion';
import { NotImplementedError } from '../http/status-error';
import { TrustService } from '../trust/trust.service';
import { ImageExportResponse } from './image-export.response';
import { ImagesApiService } from './images-api.service';

type BodyRequest = IncomingMessage & { body?: unknown };

/** /1.0/images and /1.0/images/{fingerprint}[/export]: thin translation to ImagesApiService. */
@Controller('1.0/images')
export class ImagesController {
  constructor(
    private readonly images: ImagesApiService,
    private readonly trust: TrustService,
  ) {}

  @Get()
  async list(@Query('recursion') recursion: unknown, @Query('project') project: unknown) {
    const p = resolveProject(project);
    if (parseRecursion(recursion) > 0) return sync(await this.images.list(p));
    return sync(await this.images.urls());
  }

  /** An image file as the body (unified tarball, or multipart metadata + rootfs); JSON sources are refused. */
  @Post()
  async create(@Req() req: BodyRequest, @Query('project') project: unknown) {
    try {
      const p = resolveProject(project);
      const auth = await this.trust.authenticate(req);
      if (isJson(req.headers['content-type'])) this.images.refuseJsonSource(req.body);
      return async(await this.images.upload(req, p, auth));
    } finally {
      // a refused upload is still read to its end (and dropped), so the client gets the answer
      if (!req.readableEnded) req.resume();
    }
  }

  @Get(':fingerprint')
  async get(@Param('fingerprint') fingerprint: string, @Query('project') project: unknown) {
    const { image, etag } = await this.images.get(fingerprint, resolveProject(project));
    return sync(image, { etag });
  }

  @Put(':fingerprint')
  async put(
    @Param('fingerprint') fingerprint: string,
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Query('project') project: unknown,
    @Req() req: IncomingMessage,
  ) {
    await this.images.replace(fingerprint, body, ifMatch, resolveProject(project), await this.trust.authenticate(req));
    return emptySync();
  }

  @Patch(':fingerprint')
  async patch(
    @Param('fingerprint') fingerprint: string,
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Query('project') project: unknown,
    @Req() req: IncomingMessage,
  ) {
    await this.images.patch(fingerprint, body, ifMatch, resolveProject(project), await this.trust.authenticate(req));
    return emptySync();
  }

  @Delete(':fingerprint')
  async remove(@Param('fingerprint') fingerprint: string, @Query('project') project: unknown, @Req() req: IncomingMessage) {
    return async(await this.images.delete(fingerprint, resolveProject(project), await this.trust.authenticate(req)));
  }

  @Get(':fingerprint/export')
  async export(@Param('fingerprint') fingerprint: string, @Query('project') project: unknown, @Req() req: IncomingMessage) {
    return new ImageExportResponse(await this.images.exportFiles(fingerprint, resolveProject(project), await this.trust.authenticate(req)));
  }

  @Post(':fingerprint/secret')
  secret() {
    throw new NotImplementedError('Image secrets are not supported');
  }

  @Post(':fingerprint/refresh')
  refresh() {
    throw new NotImplementedError('Image refresh is not supported: images are uploaded, they have no source to refresh from');
  }
}

function isJson(contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  return type === 'application/json' || type.endsWith('+json');
}
