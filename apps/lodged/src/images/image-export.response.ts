/**
 * GET /1.0/images/{fp}/export as LXD's FileResponse writes it: one file as the raw body with
 * `Content-Disposition: inline;filename=<name>`; two files (split image) as multipart/form-data
 * with the parts `metadata` and `rootfs`. Files are streamed from disk with an exact
 * Content-Length; the Go client hashes what it receives against the fingerprint.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Response } from 'express';
import { LxdResponse } from '../http/lxd-response';
import { multipartFraming } from './multipart';

export interface ExportFile {
  /** the multipart field name (`metadata`, `rootfs`); unused for a single file */
  name: string;
  filename: string;
  path: string;
}

export class ImageExportResponse extends LxdResponse {
  constructor(private readonly files: readonly ExportFile[]) {
    super();
  }

  render(res: Response): void {
    this.send(res).catch((err: unknown) => {
      // headers may be out already: all that is left is to cut the transfer short
      res.destroy(err instanceof Error ? err : new Error(String(err)));
    });
  }

  private async send(res: Response): Promise<void> {
    const sizes = await Promise.all(this.files.map(async (f) => (await stat(f.path)).size));
    if (this.files.length === 1) {
      res.status(200);
      res.setHeader('Content-Type', 'application/octet-stream');
      res.setHeader('Content-Length', sizes[0]);
      res.setHeader('Content-Disposition', `inline;filename=${this.files[0].filename}`);
      await pipeline(createReadStream(this.files[0].path), res);
      return;
    }
    const boundary = randomBytes(30).toString('hex');
    const { heads, tail } = multipartFraming(boundary, this.files);
    const length = heads.reduce((n, h) => n + h.length, 0) + sizes.reduce((n, s) => n + s, 0) + tail.length;
    res.status(200);
    res.setHeader('Content-Type', `multipart/form-data; boundary=${boundary}`);
    res.setHeader('Content-Length', length);
    const files = this.files;
    async function* body() {
      for (let i = 0; i < files.length; i++) {
        yield heads[i];
        yield* createReadStream(files[i].path) as AsyncIterable<Buffer>;
      }
      yield tail;
    }
    await pipeline(Readable.from(body()), res);
  }
}
