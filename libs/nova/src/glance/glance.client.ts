import { createHash, Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Logger } from '@nestjs/common';
import { NovaException } from '../errors/nova-exceptions';
import type { RequestContext } from '../oslo/request-context';

export interface GlanceOptions {
  /** the image service endpoint, e.g. http://glance.example:9292 (a trailing /v2 is fine) */
  url: string;
  /** tries after a connection failure or a 503 (nova's [glance] num_retries, default 3) */
  retries?: number;
  /** pause before a retry, ms (default 1000) */
  retryDelayMs?: number;
}

/** An image record of the Glance v2 API (custom properties are top-level keys there). */
export interface GlanceImage {
  id: string;
  name: string | null;
  status: string;
  disk_format: string | null;
  container_format: string | null;
  size: number | null;
  checksum: string | null;
  os_hash_algo: string | null;
  os_hash_value: string | null;
  created_at: string | null;
  /** every other key of the record (hw_architecture, os_distro, ...) */
  properties: Record<string, unknown>;
}

const CORE_KEYS = ['id', 'name', 'status', 'disk_format', 'container_format', 'size', 'checksum', 'os_hash_algo', 'os_hash_value', 'created_at'];

/**
 * The two Glance v2 calls a compute host makes for a build: the image record and its data. The
 * caller's keystone token (the request context's auth_token) goes along, as nova-compute sends
 * the user's token. HTTP failures become the nova exceptions nova's glance client raises.
 */
export class GlanceClient {
  private readonly logger = new Logger('Glance');
  private readonly base: string;

  constructor(private readonly options: GlanceOptions) {
    this.base = options.url.replace(/\/+$/, '').replace(/\/v2$/, '');
  }

  get endpoint(): string {
    return this.base;
  }

  async show(ctx: RequestContext, imageId: string): Promise<GlanceImage> {
    const res = await this.request(ctx, imageId, `/v2/images/${encodeURIComponent(imageId)}`);
    let body: unknown;
    try {
      body = await res.json();
    } catch (err) {
      throw new NovaException('CouldNotFetchImage', { image_id: imageId }, { cause: err });
    }
    if (!body || typeof body !== 'object' || (body as Record<string, unknown>).id !== imageId) {
      throw new NovaException('CouldNotFetchImage', { image_id: imageId });
    }
    return toImage(body as Record<string, unknown>);
  }

  /**
   * Streams the image data to `dest` and checks it as glanceclient does: the multihash
   * (os_hash_algo/os_hash_value) when the algorithm is known, else the md5 checksum, and the
   * size. Returns the sha256 of the bytes (a unified image's Lodge fingerprint).
   */
  async download(ctx: RequestContext, image: GlanceImage, dest: string): Promise<string> {
    const res = await this.request(ctx, image.id, `/v2/images/${encodeURIComponent(image.id)}/file`);
    if (res.status === 204 || !res.body) throw new NovaException('ImageUnacceptable', { image_id: image.id, reason: 'Image has no associated data' });
    const verify = verifierFor(image);
    const sha256 = createHash('sha256');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        sha256.update(chunk);
        verify?.hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), tap, createWriteStream(dest, { mode: 0o600 }));
    } catch (err) {
      throw new NovaException('CouldNotFetchImage', { image_id: image.id }, { cause: err, message: `Could not fetch image ${image.id}: ${(err as Error).message}` });
    }
    if (image.size !== null && size !== image.size) {
      throw new Error(`Corrupt image download of ${image.id}: ${size} bytes, expected ${image.size}`);
    }
    if (verify) {
      const got = verify.hash.digest('hex');
      if (got !== verify.expected) throw new Error(`Corrupt image download of ${image.id}: ${verify.algo} was ${got}, expected ${verify.expected}`);
    }
    return sha256.digest('hex');
  }

  /** One GET with nova's retries on connection failures and 503; errors translated. */
  private async request(ctx: RequestContext, imageId: string, path: string): Promise<Response> {
    const retries = this.options.retries ?? 3;
    const headers: Record<string, string> = { Accept: 'application/json, application/octet-stream' };
    if (typeof ctx.auth_token === 'string' && ctx.auth_token) headers['X-Auth-Token'] = ctx.auth_token;
    if (typeof ctx.global_request_id === 'string') headers['X-OpenStack-Request-ID'] = ctx.global_request_id;
    for (let attempt = 0; ; attempt++) {
      let reason: string;
      try {
        const res = await fetch(this.base + path, { headers, redirect: 'follow' });
        if (res.ok) return res;
        const text = (await res.text().catch(() => '')).slice(0, 500);
        if (res.status === 404) throw new NovaException('ImageNotFound', { image_id: imageId });
        if (res.status === 401 || res.status === 403) throw new NovaException('ImageNotAuthorized', { image_id: imageId });
        if (res.status === 400) throw new NovaException('ImageBadRequest', { image_id: imageId, response: text });
        if (res.status !== 503) throw new NovaException('CouldNotFetchImage', { image_id: imageId }, { message: `Could not fetch image ${imageId}: HTTP ${res.status} ${text}` });
        reason = `HTTP 503 ${text}`;
      } catch (err) {
        if (err instanceof NovaException) throw err;
        reason = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
      }
      if (attempt >= retries) throw new NovaException('GlanceConnectionFailed', { server: this.base, reason });
      this.logger.warn(`glance ${this.base}: ${reason}; retrying (${attempt + 1}/${retries})`);
      await new Promise((r) => setTimeout(r, this.options.retryDelayMs ?? 1000));
    }
  }
}

function toImage(body: Record<string, unknown>): GlanceImage {
  const str = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : null);
  const properties: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) if (!CORE_KEYS.includes(k)) properties[k] = v;
  return {
    id: body.id as string,
    name: str('name'),
    status: str('status') ?? '',
    disk_format: str('disk_format'),
    container_format: str('container_format'),
    size: typeof body.size === 'number' ? body.size : null,
    checksum: str('checksum'),
    os_hash_algo: str('os_hash_algo'),
    os_hash_value: str('os_hash_value'),
    created_at: str('created_at'),
    properties,
  };
}

function verifierFor(image: GlanceImage): { algo: string; hash: Hash; expected: string } | null {
  if (image.os_hash_algo && image.os_hash_value) {
    try {
      return { algo: image.os_hash_algo, hash: createHash(image.os_hash_algo), expected: image.os_hash_value.toLowerCase() };
    } catch {
      // an algorithm this host does not know: glanceclient falls back to the md5 checksum too
    }
  }
  if (image.checksum) return { algo: 'md5', hash: createHash('md5'), expected: image.checksum.toLowerCase() };
  return null;
}
