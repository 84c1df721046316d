/**
 * The daemon as a user runs it: `lodged --dir DIR` as its own process, on the embedded default
 * (a private PostgreSQL under DIR/database) and on an external database. Server config set over
 * the unix socket survives a restart; a clean stop stops the embedded PostgreSQL too.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { TEST_SERVER } from '../../libs/state/test/test-database';

const REPO = join(__dirname, '..', '..');

function call(socketPath: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = request({ socketPath, method, path, headers: data ? { 'content-type': 'application/json' } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString() || 'null') }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

/** `extra` replaces the default `--default-network none` (the one test of the default network gives its own). */
async function startDaemon(dir: string, extra: string[] = ['--default-network', 'none']): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(REPO, 'bin', 'lodged.js'), '--dir', dir, '--quiet', ...extra], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 45_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`lodged exited with ${child.exitCode}: ${stderr}`);
    if (/listening on/.test(stderr)) return child;
    if (Date.now() > deadline) throw new Error(`lodged did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stopDaemon(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return exited;
}

/** Processes whose command line mentions `needle` (the embedded postgres runs with -D <dir>/…). */
function processesMentioning(needle: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(needle);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** What a failed default-network test leaves: its dnsmasq (by its pid file), nft table and bridge. */
function removeNetwork(dir: string, name: string): void {
  const attempt = (f: () => void) => {
    try {
      f();
    } catch {
      /* already gone */
    }
  };
  // the pid file is the test daemon's own dnsmasq's
  attempt(() => process.kill(Number(readFileSync(join(dir, 'networks', name, 'dnsmasq.pid'), 'utf8')), 'SIGTERM'));
  attempt(() => execFileSync('nft', ['delete', 'table', 'inet', `lodge_${name}`], { stdio: 'ignore' }));
  if (existsSync(`/sys/class/net/${name}`)) attempt(() => execFileSync('ip', ['link', 'del', name], { stdio: 'ignore' }));
}

describe('lodged as a process', () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  const newDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'lodged-'));
    dirs.push(d);
    return d;
  };
  const start = async (dir: string, extra?: string[]) => {
    const c = await startDaemon(dir, extra);
    children.push(c);
    return c;
  };

  afterAll(async () => {
    for (const c of children) await stopDaemon(c);
    for (const d of dirs) {
      // a daemon killed by a failed test leaves its embedded postgres: stop it by its own pid file
      for (const pid of processesMentioning(join(d, 'database'))) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          /* gone */
        }
      }
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('runs on its own private PostgreSQL by default and keeps its config across a restart', async () => {
    const dir = newDir();
    let daemon = await start(dir);
    const socket = join(dir, 'unix.socket');
    expect((await call(socket, 'PATCH', '/1.0', { config: { 'images.auto_update_interval': '12' } })).status).toBe(200);
    expect(processesMentioning(join(dir, 'database')).length).toBeGreaterThan(0);

    expect(await stopDaemon(daemon)).toBe(0);
    // a clean stop takes the embedded server down with it
    expect(processesMentioning(join(dir, 'database'))).toEqual([]);

    daemon = await start(dir);
    const info = await call(socket, 'GET', '/1.0');
    expect(info.json.metadata.config['images.auto_update_interval']).toBe('12');
    expect(await stopDaemon(daemon)).toBe(0);
  });

  it('keeps trusted client certificates across a restart', async () => {
    const dir = newDir();
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=lodge-test-client',
      '-days', '1', '-keyout', join(dir, 'client.key'), '-out', join(dir, 'client.crt'),
    ], { stdio: 'ignore' });
    const pem = readFileSync(join(dir, 'client.crt'), 'utf8');
    const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const fingerprint = createHash('sha256').update(der).digest('hex');
    let daemon = await start(dir);
    const socket = join(dir, 'unix.socket');
    const added = await call(socket, 'POST', '/1.0/certificates', { type: 'client', name: 'ci', certificate: der.toString('base64') });
    expect(added.status).toBeLessThan(300);
    expect(await stopDaemon(daemon)).toBe(0);

    daemon = await start(dir);
    const list = await call(socket, 'GET', '/1.0/certificates?recursion=1');
    expect(list.json.metadata.map((c: { fingerprint: string; name: string }) => [c.fingerprint, c.name])).toEqual([[fingerprint, 'ci']]);
    expect(await stopDaemon(daemon)).toBe(0);
  });

  it('uses an external PostgreSQL with --database-url', async () => {
    const db = `lodge_daemon_test_${process.pid}`;
    const admin = new Client(TEST_SERVER);
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${db}`);
      const url = `postgres://postgres@127.0.0.1:${TEST_SERVER.port}/${db}`;
      const dir = newDir();
      const daemon = await start(dir, ['--database-url', url, '--default-network', 'none']);
      const socket = join(dir, 'unix.socket');
      expect((await call(socket, 'PATCH', '/1.0', { config: { 'images.auto_update_interval': '6' } })).status).toBe(200);
      const check = new Client({ connectionString: url });
      await check.connect();
      const rows = (await check.query("SELECT value FROM server_config WHERE key = 'images.auto_update_interval'")).rows;
      await check.end();
      expect(rows).toEqual([{ value: '6' }]);
      // no private server when an external one is given
      expect(processesMentioning(join(dir, 'database'))).toEqual([]);
      expect(await stopDaemon(daemon)).toBe(0);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      await admin.end();
    }
  });

  it('makes the default network on its first start only: lodgebr0 on its explicit subnet, eth0 in the default profile', async () => {
    if (existsSync('/sys/class/net/lodgebr0')) throw new Error('this host already has a lodgebr0: the first-start test needs it absent');
    const dir = newDir();
    const socket = join(dir, 'unix.socket');
    let daemon = await start(dir, ['--default-network', '10.131.77.1/24']);
    try {
      const net = (await call(socket, 'GET', '/1.0/networks/lodgebr0')).json.metadata;
      expect(net).toMatchObject({ name: 'lodgebr0', managed: true, type: 'bridge', status: 'Created' });
      expect(net.config).toEqual({ 'ipv4.address': '10.131.77.1/24', 'ipv4.nat': 'true', 'ipv6.address': 'none' });
      expect(execFileSync('ip', ['-4', '-o', 'addr', 'show', 'dev', 'lodgebr0'], { encoding: 'utf8' })).toContain('10.131.77.1/24');
      const profile = (await call(socket, 'GET', '/1.0/profiles/default')).json.metadata;
      expect(profile.devices.eth0).toEqual({ type: 'nic', network: 'lodgebr0', name: 'eth0' });

      // a user's choice stands: the NIC taken out of the profile stays out after a restart
      const devices = { ...profile.devices };
      delete devices.eth0;
      expect((await call(socket, 'PUT', '/1.0/profiles/default', { config: profile.config, description: profile.description, devices })).status).toBe(200);
      expect(await stopDaemon(daemon)).toBe(0);
      daemon = await start(dir, ['--default-network', '10.131.77.1/24']);
      expect((await call(socket, 'GET', '/1.0/profiles/default')).json.metadata.devices.eth0).toBeUndefined();
      // the bridge is still managed and up after the restart
      expect((await call(socket, 'GET', '/1.0/networks/lodgebr0/state')).json.metadata.state).toBe('up');
      expect((await call(socket, 'DELETE', '/1.0/networks/lodgebr0')).status).toBe(200);
      expect(existsSync('/sys/class/net/lodgebr0')).toBe(false);
    } finally {
      await stopDaemon(daemon);
      removeNetwork(dir, 'lodgebr0');
    }
  });

  it('works with Debian\'s lxc client over its unix socket', async () => {
    let lxc = true;
    try {
      execFileSync('lxc', ['--version']);
    } catch {
      lxc = false;
    }
    expect(lxc).toBe(true); // CI installs lxd-client
    const dir = newDir();
    const daemon = await start(dir);
    const env = { ...process.env, LXD_DIR: dir, HOME: dir };
    execFileSync('lxc', ['config', 'set', 'core.trust_password', 'pw'], { env });
    expect(execFileSync('lxc', ['config', 'get', 'core.trust_password'], { env, encoding: 'utf8' }).trim()).toBe('true');
    expect(execFileSync('lxc', ['info'], { env, encoding: 'utf8' })).toMatch(/server_version: 5\.0/);
    expect(await stopDaemon(daemon)).toBe(0);
  });
});
