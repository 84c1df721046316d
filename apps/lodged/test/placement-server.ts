/**
 * A real OpenStack placement for tests: Debian's python3-placement (its own WSGI app, served by
 * the package's placement-api script under /usr/bin/python3) on a loopback port, with a sqlite
 * database in a temp dir, synced at start-up, and `auth_strategy = noauth2` (X-Auth-Token: admin
 * is an admin). stop() kills it by PID and removes the dir, also after a failed test.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port';

const DEBIAN_PYTHON = '/usr/bin/python3';
const PLACEMENT_API = '/usr/bin/placement-api';
/** What the tests send: noauth2 makes the token "admin" an admin user. */
export const PLACEMENT_ADMIN_TOKEN = 'admin';

export interface PlacementServer {
  url: string;
  port: number;
  pid: number;
  /** one request as admin; `version` sets OpenStack-API-Version */
  api(method: string, path: string, o?: { version?: string; body?: unknown }): Promise<{ status: number; body: any }>;
  /** placement's log so far (for failure messages) */
  log(): string;
  stop(): Promise<void>;
}

export async function startPlacementServer(o: { port?: number } = {}): Promise<PlacementServer> {
  const port = o.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'lodge-placement-'));
  writeFileSync(
    join(dir, 'placement.conf'),
    [
      '[api]',
      'auth_strategy = noauth2',
      '[placement_database]',
      `connection = sqlite:///${join(dir, 'placement.sqlite')}`,
      'sync_on_startup = True',
      '',
    ].join('\n'),
  );
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  let proc: ChildProcess | undefined;
  const stop = async () => {
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc!.once('exit', r));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc!.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const api: PlacementServer['api'] = async (method, path, req = {}) => {
    const headers: Record<string, string> = { 'x-auth-token': PLACEMENT_ADMIN_TOKEN, accept: 'application/json' };
    if (req.version) headers['openstack-api-version'] = `placement ${req.version}`;
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(url + path, { method, headers, body: req.body === undefined ? undefined : JSON.stringify(req.body) });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body };
  };
  try {
    proc = spawn(DEBIAN_PYTHON, [PLACEMENT_API, '--host', '127.0.0.1', '--port', String(port)], {
      env: { ...process.env, OS_PLACEMENT_CONFIG_DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (d: Buffer) => {
      log += d.toString();
      if (log.length > 200_000) log = log.slice(-100_000);
    };
    proc.stdout!.on('data', collect);
    proc.stderr!.on('data', collect);
    const exited = new Promise<never>((_, reject) => proc!.once('exit', (code) => reject(new Error(`placement exited (${code}) before it answered:\n${log.slice(-4000)}`))));
    exited.catch(() => undefined);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const answered = await Promise.race([
        api('GET', '/').then(
          (r) => r.status === 200,
          () => false,
        ),
        exited,
      ]);
      if (answered) break;
      if (Date.now() > deadline) throw new Error(`placement did not answer on ${url} within 60 s:\n${log.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, port, pid: proc.pid!, api, log: () => log, stop };
}
