/**
 * nova's side of the nova e2e tests: a RabbitMQ vhost of the test's own, and the Python harness
 * (test/nova/harness) that plays nova-api and nova-conductor with nova's own code from Debian's
 * python3-nova on a sqlite nova database. close() stops the harness and deletes the vhost (its
 * queues go with it), also after a failed test.
 */
import { ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

const HARNESS = resolve(__dirname, '../../../test/nova/harness/nova_harness.py');
/** Debian's python: the only one that sees python3-nova. */
const DEBIAN_PYTHON = '/usr/bin/python3';

export class HarnessError extends Error {
  constructor(
    readonly errorClass: string,
    readonly module: string | undefined,
    message: string,
  ) {
    super(`${errorClass}: ${message}`);
  }
}

export interface NovaSide {
  vhost: string;
  transportUrl: string;
  computeHost: string;
  /** the harness process (nova-api side, and the conductor unless it has workers), e.g. to read its CPU time */
  pid: number;
  /** the processes serving the conductor: the harness itself, or its conductor workers */
  conductorPids: number[];
  /** sends one command to the harness and returns its result (throws HarnessError on ok:false) */
  cmd<T = any>(cmd: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  /** stderr of the harness so far (for failure messages) */
  log(): string;
  close(): Promise<void>;
}

/** A RabbitMQ node (the machine's, or e.g. a PrivateRabbit): its URLs and its rabbitmqctl. */
export interface NovaBroker {
  url(vhost: string): string;
  ctl(...args: string[]): Promise<string>;
}

/** nova's two databases as SQLAlchemy URLs (empty databases the harness migrates); default sqlite */
export interface NovaDatabases {
  main: string;
  api: string;
}

/** The machine's RabbitMQ on 127.0.0.1:5672 (guest/guest), the default broker. */
const MACHINE_BROKER: NovaBroker = {
  url: (vhost) => `rabbit://guest:guest@127.0.0.1:5672/${encodeURIComponent(vhost)}`,
  ctl: async (...args) => (await promisify(execFile)('rabbitmqctl', ['-q', ...args], { encoding: 'utf8', timeout: 30_000 })).stdout,
};

export interface NovaSideOptions {
  rpcTimeout?: number;
  /** default: the machine's RabbitMQ */
  broker?: NovaBroker;
  databases?: NovaDatabases;
  /** nova's `[conductor] workers`: serve the conductor from this many processes (default: in the harness) */
  conductorWorkers?: number;
}

export async function startNovaSide(label: string, o: NovaSideOptions = {}): Promise<NovaSide> {
  const broker = o.broker ?? MACHINE_BROKER;
  const vhost = `lodge-test-${label}-${process.pid}-${Date.now().toString(36)}`;
  await broker.ctl('add_vhost', vhost);
  await broker.ctl('set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*');
  const transportUrl = broker.url(vhost);
  const computeHost = `lodge-${label}-${process.pid}`;
  const stateDir = mkdtempSync(join(tmpdir(), `lodge-nova-${label}-`));
  let proc: ChildProcessWithoutNullStreams | undefined;
  let stderr = '';
  const pending = new Map<number, { resolve(v: any): void; reject(e: Error): void }>();
  let nextId = 1;
  let conductorPids: number[] = [];
  const close = async () => {
    if (proc && proc.exitCode === null) {
      const exited = new Promise((r) => proc!.once('exit', r));
      proc.stdin.end();
      const t = setTimeout(() => proc!.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    await broker.ctl('delete_vhost', vhost).catch(() => undefined); // already gone
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    const dbArgs = o.databases ? ['--db-connection', o.databases.main, '--api-db-connection', o.databases.api] : [];
    const workerArgs = o.conductorWorkers ? ['--conductor-workers', String(o.conductorWorkers)] : [];
    proc = spawn(DEBIAN_PYTHON, [HARNESS, '--transport-url', transportUrl, '--state-dir', stateDir, '--compute-host', computeHost, '--rpc-timeout', String(o.rpcTimeout ?? 10), ...dbArgs, ...workerArgs], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    proc.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.length > 200_000) stderr = stderr.slice(-100_000);
    });
    const lines = createInterface({ input: proc.stdout });
    const ready = new Promise<void>((resolveReady, rejectReady) => {
      proc!.once('exit', (code) => rejectReady(new Error(`nova harness exited (${code}) before it was ready:\n${stderr.slice(-4000)}`)));
      lines.on('line', (line) => {
        let msg: any;
        try {
          msg = JSON.parse(line);
        } catch {
          return;
        }
        if (msg.ready) {
          conductorPids = Array.isArray(msg.conductor_pids) ? msg.conductor_pids : [];
          return resolveReady();
        }
        const p = pending.get(msg.id);
        if (!p) return;
        pending.delete(msg.id);
        if (msg.ok) p.resolve(msg.result);
        else p.reject(new HarnessError(msg.error?.class ?? 'Error', msg.error?.module, msg.error?.message ?? JSON.stringify(msg.error)));
      });
    });
    proc.once('exit', () => {
      for (const p of pending.values()) p.reject(new Error(`nova harness exited:\n${stderr.slice(-4000)}`));
      pending.clear();
    });
    await ready;
  } catch (err) {
    await close();
    throw err;
  }
  return {
    vhost,
    transportUrl,
    computeHost,
    pid: proc.pid!,
    conductorPids,
    cmd(cmd, args = {}, timeoutMs = 60000) {
      const id = nextId++;
      return new Promise((resolveCmd, rejectCmd) => {
        const t = setTimeout(() => {
          pending.delete(id);
          rejectCmd(new Error(`nova harness: no answer to ${cmd} in ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (v) => {
            clearTimeout(t);
            resolveCmd(v);
          },
          reject: (e) => {
            clearTimeout(t);
            rejectCmd(e);
          },
        });
        proc!.stdin.write(JSON.stringify({ id, cmd, ...args }) + '\n');
      });
    },
    log: () => stderr,
    close,
  };
}

/** Polls `fn` (every 200 ms) until it returns something; fails after `ms` with the last error. */
export async function eventually<T>(fn: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
