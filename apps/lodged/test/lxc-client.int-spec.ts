import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventsService } from '../src/events/events.service';
import { freePort, LxcResult, ProbeTasks, runLxc, startTestDaemon, TestDaemon, until } from './support';

/**
 * Debian's real `lxc` client (lxd-client 5.0) against lodged: LXD_DIR points at the daemon's dir,
 * HOME/LXD_CONF at a private temp dir (nothing is written to /root). Needs `apt-get install
 * lxd-client` (never the lxd daemon); skipped with a warning when /usr/bin/lxc is missing.
 */
const LXC = '/usr/bin/lxc';
// Debian's real client is the point of these tests: without it they fail (CI installs lxd-client).

jest.setTimeout(60_000);

describe('Debian lxc 5.0 client against lodged', () => {
  it('has Debian\'s lxc client to drive (apt-get install lxd-client)', () => {
    expect(existsSync(LXC)).toBe(true);
  });

  let t: TestDaemon;
  let home: string;

  const env = () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', LXD_DIR: t.dir, HOME: home, LXD_CONF: join(home, 'lxc-conf') });

  const lxc = (...args: string[]): Promise<LxcResult> => runLxc(LXC, env(), args);

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'lodged-lxc-home-'));
    t = await startTestDaemon({ operationRetentionMs: 60_000 });
    // First run: the client writes its config and prints a welcome text on stderr.
    await lxc('remote', 'list');
  });
  afterAll(async () => {
    try {
      await t?.cleanup();
    } finally {
      if (home) rmSync(home, { recursive: true, force: true });
    }
  });

  it('lxc query /1.0', async () => {
    const r = await lxc('query', '/1.0');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.environment.server_version).toBe('5.0.2');
    expect(info.auth).toBe('trusted');
  });

  it('lxc info shows the server and our server_version', async () => {
    const r = await lxc('info');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/server_version: 5\.0\.2/);
    expect(r.stdout).toMatch(/api_version: "1\.0"/);
    expect(r.stdout).toMatch(/certificate_fingerprint: [0-9a-f]{64}/);
  });

  it('lxc operation list / show / delete', async () => {
    const token = t.operations.createAndStart({ class: 'token', description: 'Test token', mayCancel: true, metadata: { secret: 'x' } });
    const list = await lxc('operation', 'list');
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(token.id);
    expect(list.stdout).toMatch(/TOKEN/);
    expect(list.stdout).toMatch(/RUNNING/);
    const show = await lxc('operation', 'show', token.id);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/description: Test token/);
    const del = await lxc('operation', 'delete', token.id);
    expect(del.code).toBe(0);
    expect(token.render().status).toBe('Cancelled');
  });

  it('lxc config set/get/unset core.https_address and refuses unknown keys', async () => {
    const addr = `127.0.0.1:${await freePort()}`;
    const set = await lxc('config', 'set', 'core.https_address', addr);
    expect(set.stderr).toBe('');
    expect(set.code).toBe(0);
    const get = await lxc('config', 'get', 'core.https_address');
    expect(get.stdout.trim()).toBe(addr);
    const bad = await lxc('config', 'set', 'no.such.key', 'x');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/cannot set 'no.such.key' to 'x': unknown key/);
    const unset = await lxc('config', 'unset', 'core.https_address');
    expect(unset.code).toBe(0);
    expect((await lxc('config', 'get', 'core.https_address')).stdout.trim()).toBe('');
  });

  it('lxc project list and lxc storage list', async () => {
    const projects = await lxc('project', 'list', '--format', 'csv');
    expect(projects.code).toBe(0);
    expect(projects.stdout).toMatch(/^default \(current\),/m);
    const pools = await lxc('storage', 'list', '--format', 'csv');
    expect(pools.code).toBe(0);
    expect(pools.stdout).toMatch(/^default,dir,/m);
  });

  it('an unknown path is an error the client reports', async () => {
    const r = await lxc('query', '/1.0/nothing-here');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Error: not found/);
  });

  it('lxc query --wait long-polls an async operation (202 + Location) to its final state', async () => {
    const child = spawn(LXC, ['query', '--wait', '-X', 'POST', '/1.0/lodge-probe/tasks'], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    const out = collectOutput(child);
    try {
      const id = await until(() => [...ProbeTasks.pending.keys()][0]);
      ProbeTasks.release(id, { answer: 42 });
      expect(await out.exited).toBe(0);
      expect(out.stderr()).toBe('');
      expect(JSON.parse(out.stdout())).toMatchObject({ id, status: 'Success', status_code: 200, metadata: { answer: 42 } });
    } finally {
      stop(child);
    }
  });

  it('lxc monitor receives operation events from GET /1.0/events', async () => {
    const events = t.daemon.app.get(EventsService);
    const before = events.listenerCount;
    const child = spawn(LXC, ['monitor', '--type=operation', '--format=json'], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    const out = collectOutput(child);
    try {
      await until(() => events.listenerCount > before);
      const op = t.operations.createAndStart({ class: 'task', description: 'Watched task', run: async () => ({ watched: true }) });
      const line = await until(() =>
        out
          .stdout()
          .split('\n')
          .filter((l) => l.trim().startsWith('{'))
          .map((l) => JSON.parse(l))
          .find((e) => e.metadata?.id === op.id && e.metadata.status === 'Success'),
      );
      expect(line).toMatchObject({ type: 'operation', location: 'none', project: 'default', metadata: { description: 'Watched task', metadata: { watched: true } } });
    } finally {
      stop(child);
    }
  });
});

function collectOutput(child: ChildProcess) {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    exited: new Promise<number | null>((resolve) => child.once('close', resolve)),
  };
}

/** Ends a child this test started (by its own handle, never by name). */
function stop(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill();
}
