import { execFile } from 'node:child_process';
import { Controller, Module, Post } from '@nestjs/common';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { X509Certificate } from 'node:crypto';
import { connect as netConnect } from 'node:net';
import { generate as generateSelfSigned } from 'selfsigned';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { startDaemon, DaemonHandle } from '../src/bootstrap';
import { DaemonOptions } from '../src/daemon-options';
import { async } from '../src/http/lxd-response';
import { LodgeOperation } from '../src/operations/operation';
import { OperationsService } from '../src/operations/operations.service';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

/** One HTTP request over the daemon's unix socket. */
export function call(
  socketPath: string,
  method: string,
  path: string,
  options: { body?: unknown; raw?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const payload =
      options.raw !== undefined ? Buffer.from(options.raw) : options.body !== undefined ? Buffer.from(JSON.stringify(options.body)) : undefined;
    const headers: Record<string, string | number> = { ...(options.headers ?? {}) };
    if (payload) {
      headers['Content-Type'] ??= 'application/json';
      headers['Content-Length'] = payload.length;
    }
    const req = httpRequest({ socketPath, method, path, headers }, (res) => collectResponse(res, resolve, reject));
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

/** The exact bytes of an LXD error envelope. */
export function errorBody(code: number, message: string): string {
  return JSON.stringify({ type: 'error', status: '', status_code: 0, operation: '', error_code: code, error: message, metadata: null }) + '\n';
}

/** The exact bytes of an LXD sync envelope. */
export function syncBody(metadata: unknown): string {
  return JSON.stringify({ type: 'sync', status: 'Success', status_code: 200, operation: '', error_code: 0, error: '', metadata }) + '\n';
}

/**
 * A probe module for tests only: POST /1.0/lodge-probe/tasks creates a task operation that stays
 * Running until the test releases it (ProbeTasks.release), and returns the async envelope.
 */
export class ProbeTasks {
  static pending = new Map<string, (metadata: Record<string, unknown>) => void>();
  static release(id: string, metadata: Record<string, unknown> = {}): void {
    const r = ProbeTasks.pending.get(id);
    if (!r) throw new Error(`no pending probe task ${id}`);
    ProbeTasks.pending.delete(id);
    r(metadata);
  }
}

@Controller('1.0/lodge-probe')
class ProbeController {
  constructor(private readonly operations: OperationsService) {}

  @Post('tasks')
  create() {
    let release!: (m: Record<string, unknown>) => void;
    const done = new Promise<Record<string, unknown>>((resolve) => (release = resolve));
    const op: LodgeOperation = this.operations.createAndStart({
      class: 'task',
      description: 'Probe task',
      resources: { instances: ['/1.0/instances/probe'] },
      mayCancel: true,
      run: () => done,
    });
    ProbeTasks.pending.set(op.id, release);
    return async(op.render());
  }
}

@Module({ controllers: [ProbeController] })
export class ProbeModule {}

export interface TestDaemon {
  dir: string;
  daemon: DaemonHandle;
  operations: OperationsService;
  cleanup(): Promise<void>;
}

/** Starts a daemon on a fresh temp dir; cleanup() closes it and removes the dir. */
export async function startTestDaemon(options: Partial<DaemonOptions> = {}): Promise<TestDaemon> {
  const dir = mkdtempSync(join(tmpdir(), 'lodged-test-'));
  try {
    const daemon = await startDaemon({ dir, modules: [ProbeModule], ...options });
    return {
      dir,
      daemon,
      operations: daemon.app.get(OperationsService),
      cleanup: async () => {
        try {
          await daemon.close();
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Opens a websocket over the unix socket; resolves once open, rejects with the HTTP status on refusal. */
export function openWs(socketPath: string, path: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws+unix://${socketPath}:${path}`);
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, body: Buffer.concat(chunks).toString() })));
    });
    ws.once('error', reject);
  });
}

/** Collects JSON messages of a websocket; `next(pred)` resolves with the first (past or future) match. */
export function collect(ws: WebSocket) {
  const seen: any[] = [];
  const waiters: Array<{ pred: (m: any) => boolean; resolve: (m: any) => void }> = [];
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString());
    seen.push(msg);
    for (const w of [...waiters]) {
      if (w.pred(msg)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(msg);
      }
    }
  });
  return {
    seen,
    next(pred: (m: any) => boolean): Promise<any> {
      const found = seen.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => waiters.push({ pred, resolve }));
    },
  };
}

/** Polls until `fn` returns a truthy value (no time threshold: the jest timeout bounds it). */
export async function until<T>(fn: () => T | Promise<T>): Promise<T> {
  for (;;) {
    const v = await fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
}

export { freePort } from './free-port';

export interface ClientIdentity {
  cert: string;
  key: string;
  /** sha256 of the DER, lower-case hex. */
  fingerprint: string;
  /** base64 DER, as LXD clients send `certificate`. */
  base64Der: string;
}

/** A self-signed TLS client certificate (ECDSA P-256, clientAuth), as an lxc client makes one. */
export async function makeClientIdentity(commonName: string): Promise<ClientIdentity> {
  const pems = await generateSelfSigned([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [{ name: 'extKeyUsage', clientAuth: true }],
  });
  const x509 = new X509Certificate(pems.cert);
  return {
    cert: pems.cert,
    key: pems.private,
    fingerprint: x509.fingerprint256.replace(/:/g, '').toLowerCase(),
    base64Der: x509.raw.toString('base64'),
  };
}

/**
 * One request over HTTPS to 127.0.0.1:port, with an optional client certificate. A new connection
 * each time (agent: false); the server certificate is pinned by `serverCert` (PEM).
 */
export function httpsCall(
  port: number,
  serverCert: string,
  method: string,
  path: string,
  options: { client?: ClientIdentity; body?: unknown; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const payload = options.body !== undefined ? Buffer.from(JSON.stringify(options.body)) : undefined;
    const headers: Record<string, string | number> = { ...(options.headers ?? {}) };
    if (payload) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = payload.length;
    }
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers,
        agent: false,
        ca: serverCert,
        cert: options.client?.cert,
        key: options.client?.key,
      },
      (res) => collectResponse(res, resolve, reject),
    );
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

/** Resolves with the connect error code (e.g. ECONNREFUSED), or 'connected'. */
export function tcpProbe(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = netConnect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

/** Reads a whole response: status, headers, text and (when it parses) JSON. */
function collectResponse(
  res: import('node:http').IncomingMessage,
  resolve: (r: { status: number; headers: import('node:http').IncomingHttpHeaders; text: string; json: unknown }) => void,
  reject: (err: Error) => void,
): void {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => {
    const text = Buffer.concat(chunks).toString('utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
  });
  res.on('error', reject);
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}
export type LxcResult = CommandResult;

/**
 * Runs a program as a user would; never throws, the exit code tells (one that cannot start or
 * outlives `timeoutMs` reads as 1). stdin gets `input` and is then closed: `lxc init`/`launch`
 * read YAML from a non-terminal stdin until it ends, so an open one would hang them.
 */
export function runCommand(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  o: { input?: string | Buffer; timeoutMs?: number } = {},
): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { env, timeout: o.timeoutMs ?? 0, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code: unknown = err ? (err as { code?: unknown }).code : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
    // A program that exits without reading its stdin (`lxc remote list`) closes the pipe first:
    // the write then fails with EPIPE, which says nothing about the run; the exit code does.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(o.input ?? '');
  });
}

/** Debian's lxc client with the given environment (and `input` on its stdin). */
export function runLxc(lxcPath: string, env: NodeJS.ProcessEnv, args: string[], input?: string): Promise<LxcResult> {
  return runCommand(lxcPath, args, env, { input, timeoutMs: 30_000 });
}

/**
 * Debian's lxc client for one test file, with a private HOME/LXD_CONF (made on first use,
 * removed by cleanup()) talking to the daemon whose state dir `lxdDir()` returns.
 */
export interface LxcClient {
  /** runs `lxc args…`; never throws */
  run(args: string[], input?: string): Promise<LxcResult>;
  /** runs `lxc args…` and returns stdout; throws with stderr on a non-zero exit */
  ok(args: string[], input?: string): Promise<string>;
  cleanup(): void;
}

export function lxcClient(lxdDir: () => string, lxcPath = '/usr/bin/lxc'): LxcClient {
  let home: string | undefined;
  const env = () => {
    home ??= mkdtempSync(join(tmpdir(), 'lodge-lxc-home-'));
    return { PATH: process.env.PATH ?? '/usr/bin:/bin', LXD_DIR: lxdDir(), HOME: home, LXD_CONF: join(home, 'lxc-conf') };
  };
  const run = (args: string[], input?: string) => runLxc(lxcPath, env(), args, input);
  return {
    run,
    async ok(args, input) {
      const r = await run(args, input);
      if (r.code !== 0) throw new Error(`lxc ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
      return r.stdout;
    },
    cleanup() {
      if (home) rmSync(home, { recursive: true, force: true });
      home = undefined;
    },
  };
}
