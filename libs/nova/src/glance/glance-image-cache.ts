import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { pack } from 'tar-stream';
import { AlreadyExistsError, NotFoundError } from '@lodge/common';
import { ImageCatalog, tarballHasMetadata } from '@lodge/image';
import { ImagesRepository } from '@lodge/state';
import { novaArch } from '../compute/host-resources';
import { NovaException } from '../errors/nova-exceptions';
import type { RequestContext } from '../oslo/request-context';
import { GlanceClient, GlanceImage } from './glance.client';

/** The Glance disk formats a container can be made from (as nova-lxd accepted them). */
export const CONTAINER_DISK_FORMATS = ['raw', 'root-tar', 'squashfs'];

/**
 * Glance images as Lodge images: downloaded once, imported, and cached under an alias equal to
 * the Glance image id, so every later build (and the operator, through the REST API) finds it
 * by that id. An image that carries metadata.yaml (a Lodge or LXD unified tarball, e.g. a
 * published snapshot) is imported as it is; a bare root filesystem (tarball or squashfs) gets a
 * small generated metadata tarball (architecture from hw_architecture, creation date from
 * Glance), deterministic, so the same Glance bytes always make the same fingerprint. Builds of
 * one image that arrive together share one download.
 */
export class GlanceImageCache {
  private readonly logger = new Logger('GlanceImageCache');
  private readonly inFlight = new Map<string, Promise<string>>();

  constructor(
    private readonly glance: GlanceClient,
    private readonly catalog: ImageCatalog,
    private readonly images: ImagesRepository,
    /** where downloads are kept until imported */
    private readonly downloadDir: string,
  ) {}

  /** The fingerprint of the Lodge image for Glance image `imageId`, importing it on first use. */
  fetch(ctx: RequestContext, imageId: string): Promise<string> {
    let pending = this.inFlight.get(imageId);
    if (!pending) {
      pending = this.importOnce(ctx, imageId).finally(() => this.inFlight.delete(imageId));
      this.inFlight.set(imageId, pending);
    }
    return pending;
  }

  private async importOnce(ctx: RequestContext, imageId: string): Promise<string> {
    // imported meanwhile (by a build that finished just before this one asked)
    const cached = await this.aliasTarget(imageId);
    if (cached) return cached;
    const image = await this.glance.show(ctx, imageId);
    checkAcceptable(image);
    await mkdir(this.downloadDir, { recursive: true, mode: 0o700 });
    const dir = await mkdtemp(join(this.downloadDir, 'import-'));
    try {
      const file = join(dir, 'image');
      const started = Date.now();
      const fileSha256 = await this.glance.download(ctx, image, file);
      const unified = await isUnified(imageId, file);
      let fingerprint = fileSha256;
      let metadataFile: string | undefined;
      if (!unified) {
        metadataFile = join(dir, 'metadata.tar');
        const metadata = await writeMetadataTarball(metadataFile, image);
        fingerprint = await splitFingerprint(metadata, file);
      }
      if (!(await this.catalog.listed(fingerprint))) await this.importFiles(imageId, image, file, metadataFile);
      await this.addAlias(imageId, image, fingerprint);
      this.logger.log(`glance image ${imageId} imported as ${fingerprint.slice(0, 12)} in ${Date.now() - started} ms`);
      return (await this.aliasTarget(imageId)) ?? fingerprint;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private async importFiles(imageId: string, image: GlanceImage, file: string, metadataFile: string | undefined): Promise<void> {
    let received;
    try {
      received = metadataFile ? await this.catalog.receiveSplit(metadataFile, file) : await this.catalog.receiveUnified(file);
    } catch (err) {
      // the same bytes were listed meanwhile (another import of them): use those
      if (err instanceof AlreadyExistsError) return;
      throw new NovaException('ImageUnacceptable', { image_id: imageId, reason: (err as Error).message }, { cause: err });
    }
    try {
      await this.catalog.commit(received, { filename: image.name ?? imageId, properties: imageProperties(image) });
    } catch (err) {
      await received.discard();
      if (err instanceof AlreadyExistsError) return;
      throw err;
    }
  }

  private async addAlias(imageId: string, image: GlanceImage, fingerprint: string): Promise<void> {
    try {
      await this.images.createAlias({ name: imageId, fingerprint, description: `glance image ${image.name ?? imageId}` });
    } catch (err) {
      // made by someone else between our check and now: theirs stands
      if (!(err instanceof AlreadyExistsError)) throw err;
    }
  }

  private async aliasTarget(name: string): Promise<string | null> {
    try {
      return (await this.images.getAlias(name)).fingerprint;
    } catch (err) {
      if (err instanceof NotFoundError) return null;
      throw err;
    }
  }
}

/** What nova-lxd refused, refused the same way: only active images of a container disk format. */
export function checkAcceptable(image: GlanceImage): void {
  if (image.status !== 'active') throw new NovaException('ImageUnacceptable', { image_id: image.id, reason: `status is ${image.status}, not active` });
  if (!image.disk_format || !CONTAINER_DISK_FORMATS.includes(image.disk_format)) {
    throw new NovaException('ImageUnacceptable', {
      image_id: image.id,
      reason: `disk_format ${image.disk_format} is not one a container can use (${CONTAINER_DISK_FORMATS.join(', ')})`,
    });
  }
}

/**
 * A unified tarball (metadata.yaml at the top) or a bare root filesystem; anything that is not a
 * tarball or a squashfs is no image a container can use (tarballHasMetadata's format check
 * refuses it).
 */
async function isUnified(imageId: string, file: string): Promise<boolean> {
  try {
    return await tarballHasMetadata(file);
  } catch (err) {
    throw new NovaException('ImageUnacceptable', { image_id: imageId, reason: (err as Error).message }, { cause: err });
  }
}

/** metadata.yaml for a bare root filesystem, from the Glance record only (so it is repeatable). */
export function generatedMetadata(image: GlanceImage, hostArch = process.arch): Record<string, unknown> {
  const arch = typeof image.properties.hw_architecture === 'string' ? image.properties.hw_architecture : novaArch(hostArch);
  const created = image.created_at ? Date.parse(image.created_at) : NaN;
  const properties: Record<string, string> = { description: image.name ?? image.id };
  if (typeof image.properties.os_distro === 'string') properties.os = image.properties.os_distro;
  if (typeof image.properties.os_version === 'string') properties.release = image.properties.os_version;
  return { architecture: arch, creation_date: Number.isFinite(created) ? Math.floor(created / 1000) : 0, properties };
}

async function writeMetadataTarball(path: string, image: GlanceImage): Promise<Buffer> {
  // JSON is YAML; a fixed mtime keeps the tarball, and so the fingerprint, the same every time
  const yaml = Buffer.from(JSON.stringify(generatedMetadata(image), null, 2) + '\n');
  const tar = pack();
  tar.entry({ name: 'metadata.yaml', size: yaml.length, mode: 0o644, mtime: new Date(0) }, yaml);
  tar.finalize();
  const chunks: Buffer[] = [];
  for await (const c of tar as AsyncIterable<Buffer>) chunks.push(c);
  const bytes = Buffer.concat(chunks);
  await writeFile(path, bytes, { mode: 0o600 });
  return bytes;
}

/** A split image's fingerprint: sha256 over the metadata tarball, then the rootfs file. */
async function splitFingerprint(metadata: Buffer, rootfs: string): Promise<string> {
  const hash = createHash('sha256');
  hash.update(metadata);
  for await (const chunk of createReadStream(rootfs)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The Glance identity an imported image keeps, as Lodge image properties. */
function imageProperties(image: GlanceImage): Record<string, string> {
  const props: Record<string, string> = { 'glance.id': image.id };
  if (image.name) props['glance.name'] = image.name;
  if (image.disk_format) props['glance.disk_format'] = image.disk_format;
  return props;
}
