/**
 * A Glance v2 image service on loopback for the nova tests: `GET /v2/images/{id}` (the image
 * record, custom properties as top-level keys, as Glance answers) and `GET /v2/images/{id}/file`
 * (the data). Images are files on disk with their record; a test can make one answer 503 a few
 * times first, and every request is recorded (path and X-Auth-Token) so a test can count
 * downloads.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GlanceTestImage {
  id: string;
  name: string;
  /** the data; none for an image that is still queued */
  file?: string;
  disk_format: string;
  container_format?: string;
  status?: string;
  /** extra properties (hw_architecture, os_distro, ...) */
  properties?: Record<string, string>;
  /** answer this many requests for the image with 503 first */
  unavailableTimes?: number;
  /** publish a wrong sha512 (as if the bytes were corrupted on the way) */
  wrongHash?: boolean;
}

export interface GlanceRequest {
  path: string;
  token: string | undefined;
}

export interface GlanceTestServer {
  url: string;
  requests: GlanceRequest[];
  add(image: GlanceTestImage): void;
  /** how many times the data of `id` was served */
  downloads(id: string): number;
  close(): Promise<void>;
}

export async function startGlanceServer(): Promise<GlanceTestServer> {
  const images = new Map<string, GlanceTestImage>();
  const requests: GlanceRequest[] = [];

  const record = (img: GlanceTestImage) => {
    const data = img.file ? readFileSync(img.file) : null;
    const sha512 = data ? createHash('sha512').update(data).digest('hex') : null;
    return {
      id: img.id,
      name: img.name,
      status: img.status ?? 'active',
      disk_format: img.disk_format,
      container_format: img.container_format ?? 'bare',
      size: img.file ? statSync(img.file).size : null,
      checksum: data ? createHash('md5').update(data).digest('hex') : null,
      os_hash_algo: data ? 'sha512' : null,
      os_hash_value: sha512 && img.wrongHash ? '0'.repeat(128) : sha512,
      visibility: 'public',
      protected: false,
      min_disk: 0,
      min_ram: 0,
      created_at: '2026-11-01T10:00:00Z',
      updated_at: '2026-11-01T10:00:00Z',
      tags: [],
      self: `/v2/images/${img.id}`,
      file: `/v2/images/${img.id}/file`,
      schema: '/v2/schemas/image',
      ...img.properties,
    };
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0];
    requests.push({ path, token: req.headers['x-auth-token'] as string | undefined });
    const m = /^\/v2\/images\/([^/]+)(\/file)?$/.exec(path);
    const img = m ? images.get(decodeURIComponent(m[1])) : undefined;
    if (req.method !== 'GET' || !m || !img) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('404 Not Found\n\nNo image found with ID\n');
      return;
    }
    if (img.unavailableTimes && img.unavailableTimes > 0) {
      img.unavailableTimes--;
      res.writeHead(503, { 'Content-Type': 'text/plain' }).end('503 Service Unavailable\n');
      return;
    }
    if (!m[2]) {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(record(img)));
      return;
    }
    if (!img.file) {
      res.writeHead(204).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': statSync(img.file).size });
    createReadStream(img.file).pipe(res);
  };

  const server: Server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    add: (image) => images.set(image.id, { ...image }),
    downloads: (id) => requests.filter((r) => r.path === `/v2/images/${id}/file`).length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
