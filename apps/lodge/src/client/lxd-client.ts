/**
 * A small LXD 1.0 REST client: one request, the envelope parsed (errors thrown with the daemon's
 * wording), async operations waited for through /1.0/operations/{id}/wait, raw downloads and
 * operation websockets. Works the same over the unix socket and over HTTPS.
 */
import { request as httpRequest, IncomingMessage, RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { ClientOptions, WebSocket } from 'ws';
import { Endpoint, tlsOptions } from './endpoint';
import { LxdApiError } from './lxd-error';

export interface Envelope<T = any> {
  type: 'sync' | 'async' | 'error';
  status_code: number;
  operation: string;
  metadata: T;
  /** the ETag header, for a later PUT with If-Match */
  etag?: string;
}

export interface Operation {
  id: string;
  class: string;
  description: string;
  status: string;
  status_code: number;
  metadata: Record<string, any> | null;
  err: string;
  resources?: Record<string, string[]>;
}

export interface CallOptions {
  /** a JSON body */
  json?: unknown;
  /** a raw body: bytes, or a stream (give `length` to send Content-Length) */
  body?: Buffer | Readable;
  length?: number;
  headers?: Record<string, string>;
}

export class LxdClient {
  constructor(
    readonly endpoint: Endpoint,
    /** the project every call is scoped to (`?project=`); undefined means the server's default */
    readonly project?: string,
  ) {}

  /** One call; resolves with the sync/async envelope, rejects with LxdApiError on an error answer. */
  async request<T = any>(method: string, path: string, o: CallOptions = {}): Promise<Envelope<T>> {
    const res = await this.send(method, path, o);
    const text = await readAll(res);
    let parsed: any;
    try {
      parsed = JSON.parse(text.toString('utf8'));
    } catch {
      throw new LxdApiError(res.statusCode ?? 0, `Unexpected answer (HTTP ${res.statusCode}): ${text.toString('utf8').slice(0, 200)}`);
    }
    if (parsed.type === 'error' || (res.statusCode ?? 0) >= 400) {
      throw new LxdApiError(parsed.error_code || res.statusCode || 0, parsed.error || `HTTP ${res.statusCode}`);
    }
    const etag = res.headers.etag;
    return { ...parsed, ...(etag ? { etag: String(etag) } : {}) };
  }

  /** GET and return the metadata. */
  async get<T = any>(path: string): Promise<T> {
    return (await this.request<T>('GET', path)).metadata;
  }

  /** A call that answers with an operation, then waits for it; returns the finished operation. */
  async run(method: string, path: string, o: CallOptions = {}): Promise<Operation> {
    const env = await this.request<Operation>(method, path, o);
    if (env.type !== 'async') return env.metadata;
    return this.wait(env.operation || `/1.0/operations/${env.metadata.id}`);
  }

  /** Waits for an operation to end; rejects with its error when it did not succeed. */
  async wait(operation: string): Promise<Operation> {
    const url = operation.startsWith('/') ? operation : `/1.0/operations/${operation}`;
    const op = (await this.request<Operation>('GET', `${url}/wait?timeout=-1`)).metadata;
    if (op.status_code !== 200) throw new LxdApiError(op.status_code, op.err || op.status);
    return op;
  }

  /** A raw response (file and image downloads); error answers are thrown like request() does. */
  async download(path: string): Promise<IncomingMessage> {
    const res = await this.send('GET', path, {});
    if ((res.statusCode ?? 0) >= 400) {
      const text = (await readAll(res)).toString('utf8');
      let message = `HTTP ${res.statusCode}`;
      try {
        message = JSON.parse(text).error || message;
      } catch {
        /* not an envelope: keep the status */
      }
      throw new LxdApiError(res.statusCode ?? 0, message);
    }
    return res;
  }

  /** Opens a websocket (operation fds); resolves once open. */
  websocket(path: string): Promise<WebSocket> {
    const e = this.endpoint;
    const ws =
      e.kind === 'unix'
        ? new WebSocket(`ws+unix://${e.socketPath}:${this.scoped(path)}`)
        : // ws hands these to https.request, so Node's checkServerIdentity signature is the one that runs
          new WebSocket(`${e.url.replace(/^https/, 'wss')}${this.scoped(path)}`, tlsOptions(e) as unknown as ClientOptions);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(ws));
      ws.once('unexpected-response', (_req, res) => {
        readAll(res).then((b) => {
          let message = `HTTP ${res.statusCode}`;
          try {
            message = JSON.parse(b.toString('utf8')).error || message;
          } catch {
            /* keep the status */
          }
          reject(new LxdApiError(res.statusCode ?? 0, message));
        }, reject);
      });
      ws.once('error', reject);
    });
  }

  /** Adds `project=` to a path when the client is scoped to a project. */
  scoped(path: string): string {
    if (!this.project) return path;
    return `${path}${path.includes('?') ? '&' : '?'}project=${encodeURIComponent(this.project)}`;
  }

  private send(method: string, path: string, o: CallOptions): Promise<IncomingMessage> {
    const headers: Record<string, string | number> = { ...(o.headers ?? {}) };
    let payload: Buffer | Readable | undefined = o.body;
    if (o.json !== undefined) {
      payload = Buffer.from(JSON.stringify(o.json));
      headers['Content-Type'] = 'application/json';
    }
    if (Buffer.isBuffer(payload)) headers['Content-Length'] = payload.length;
    else if (payload && o.length !== undefined) headers['Content-Length'] = o.length;
    const e = this.endpoint;
    const base: RequestOptions = { method, path: this.scoped(path), headers };
    return new Promise((resolve, reject) => {
      const req =
        e.kind === 'unix'
          ? httpRequest({ ...base, socketPath: e.socketPath }, resolve)
          : (() => {
              const u = new URL(e.url);
              return httpsRequest({ ...base, host: u.hostname, port: u.port || 8443, agent: false, ...tlsOptions(e) }, resolve);
            })();
      req.on('error', (err: NodeJS.ErrnoException) => reject(connectionError(e, err)));
      if (payload instanceof Readable) {
        payload.on('error', (err) => req.destroy(err));
        payload.pipe(req);
      } else {
        if (payload) req.write(payload);
        req.end();
      }
    });
  }
}

/** The socket errors a user can act on, said plainly (as lxc and Juju do). */
function connectionError(e: Endpoint, err: NodeJS.ErrnoException): Error {
  if (e.kind === 'unix' && (err.code === 'ENOENT' || err.code === 'ECONNREFUSED')) {
    return new Error(`Lodge daemon not reachable at ${e.socketPath}: is lodged running? (--dir or LODGE_DIR select its directory)`);
  }
  if (e.kind === 'unix' && err.code === 'EACCES') return new Error(`Permission denied on ${e.socketPath}: run as root or as a member of the socket's group`);
  return err;
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
