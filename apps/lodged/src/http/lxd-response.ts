import type { Response } from 'express';
import { asyncEnvelope, errorEnvelope, etagHeader, Operation, operationUrl, syncEnvelope } from '@lodge/api-types';

/**
 * What controllers return. The adapter (LxdExpressAdapter) renders it: Nest's own reply would
 * force 200/201 and know nothing about Location or ETag.
 */
export abstract class LxdResponse {
  abstract render(res: Response): void;
}

export class SyncResponse extends LxdResponse {
  constructor(
    readonly metadata: unknown,
    readonly options: { etag?: string; location?: string } = {},
  ) {
    super();
  }
  render(res: Response): void {
    if (this.options.etag) res.setHeader('ETag', etagHeader(this.options.etag));
    let code = 200;
    if (this.options.location) {
      res.setHeader('Location', this.options.location);
      code = 201;
    }
    writeJson(res, code, syncEnvelope(this.metadata));
  }
}

export class AsyncResponse extends LxdResponse {
  constructor(readonly operation: Operation) {
    super();
  }
  render(res: Response): void {
    res.setHeader('Location', operationUrl(this.operation.id));
    writeJson(res, 202, asyncEnvelope(this.operation));
  }
}

export class ErrorResponse extends LxdResponse {
  constructor(
    readonly httpStatus: number,
    readonly message: string,
  ) {
    super();
  }
  render(res: Response): void {
    writeJson(res, this.httpStatus, errorEnvelope(this.httpStatus, this.message));
  }
}

export const sync = (metadata: unknown, options?: { etag?: string; location?: string }) =>
  new SyncResponse(metadata, options);
/** LXD's EmptySyncResponse: metadata is an empty object. */
export const emptySync = () => new SyncResponse({});
export const async = (op: Operation) => new AsyncResponse(op);

/** Bodies end with a newline, as Go's json.Encoder writes them. */
export function writeJson(res: Response, status: number, body: unknown): void {
  const text = JSON.stringify(body) + '\n';
  res.status(status);
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}
