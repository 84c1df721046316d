import type { Response } from 'express';
import { LxdResponse } from '../http/lxd-response';

/** A file's bytes as LXD's FileResponse sends them (log files, the console log). */
export class FileResponse extends LxdResponse {
  constructor(
    readonly content: Buffer,
    readonly filename: string,
  ) {
    super();
  }

  render(res: Response): void {
    res.status(200);
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Length', this.content.length);
    res.setHeader('Content-Disposition', `inline;filename=${this.filename}`);
    res.end(this.content);
  }
}
