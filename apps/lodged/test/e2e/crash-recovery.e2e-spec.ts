/**
 * kill -9 of a real `lodged` process during 20 concurrent creates, then a restart: every instance
 * is either complete or absent, nothing is leaked (volumes, temp dirs, mounts, cgroups, rows,
 * log dirs), and the containers that ran before still run and show as Running.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { ImageStore } from '@lodge/image';
import { ImagesRepository, openStateDataSource } from '@lodge/state';
import { createTestDatabase, TestDatabase } from '../../../../libs/state/test/test-database';
import { leftoverCgroups, removeCgroupParent } from '../../../../test/runtime/harness';
import { DaemonStoragePools } from '../../src/engine/engine.module';
import { BUSYBOX_UNIFIED, mountsUnder, unmountUnder } from '../engine-daemon';
import { call, RawResponse, until } from '../support';

const REPO = join(__dirname, '..', '..', '..', '..');

describe('lodged killed with SIGKILL during 20 concurrent creates', () => {
  const parent = `lodge-test-crash-${process.pid}`;
  let db: TestDatabase;
  let dir: string;
  let child: ChildProcess | undefined;
  const socket = () => join(dir, 'unix.socket');
  const api = (method: string, path: string, body?: unknown) => call(socket(), method, path, body === undefined ? {} : { body });
  const waitOp = async (res: RawResponse) => {
    if (res.status !== 202) throw new Error(`expected 202, got ${res.status}: ${res.text}`);
    const done = await call(socket(), 'GET', `${res.json.operation}/wait?timeout=60`);
    return done.json.metadata;
  };

  const startLodged = async (): Promise<ChildProcess> => {
    const c = spawn(process.execPath, [join(REPO, 'bin', 'lodged.js'), '--dir', dir, '--database-url', db.url, '--quiet', '--default-network', 'none'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, LODGE_CGROUP_PARENT: parent },
    });
    let stderr = '';
    c.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await until(() => {
      if (c.exitCode !== null) throw new Error(`lodged exited with ${c.exitCode}: ${stderr}`);
      return /listening on/.test(stderr);
    });
    return c;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = mkdtempSync(join(tmpdir(), 'lodge-crash-'));
    // The image is put in place before the daemon starts (this test is about instances).
    const ds = await openStateDataSource({ url: db.url });
    try {
      const pool = new DaemonStoragePools(dir).get('default');
      await pool.createPool();
      const info = await new ImageStore(join(dir, 'images'), pool).importUnified(BUSYBOX_UNIFIED, { unpack: false });
      const images = new ImagesRepository(ds);
      await images.create({ fingerprint: info.fingerprint, size: info.size, architecture: info.architecture });
      await images.createAlias({ name: 'bb', fingerprint: info.fingerprint });
    } finally {
      await ds.destroy();
    }
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await removeCgroupParent(parent);
    unmountUnder(dir);
    for (const f of readdirSync(dir, { recursive: true }) as string[]) {
      if (f.endsWith('console.log')) (await import('@lodge/runtime')).releaseConsoleLog(join(dir, f));
    }
    rmSync(dir, { recursive: true, force: true });
    await db.drop();
  });

  it('leaves every instance complete or absent, leaks nothing, keeps running containers running', async () => {
    child = await startLodged();
    const running = ['keep1', 'keep2'];
    for (const name of running) {
      expect((await waitOp(await api('POST', '/1.0/instances', { name, source: { type: 'image', alias: 'bb' } }))).status).toBe('Success');
      expect((await waitOp(await api('PUT', `/1.0/instances/${name}/state`, { action: 'start' }))).status).toBe('Success');
    }
    const pidsBefore = await Promise.all(running.map(async (n) => (await api('GET', `/1.0/instances/${n}/state`)).json.metadata.pid));

    const names = Array.from({ length: 20 }, (_, i) => `crash${i + 1}`);
    const requests = names.map((name) =>
      api('POST', '/1.0/instances', { name, source: { type: 'image', alias: 'bb' } }).catch(() => undefined),
    );
    // kill it mid-flight: once a few of the creates are recorded, the rest are still in progress
    await until(async () => {
      const list = (await api('GET', '/1.0/instances')).json.metadata as string[];
      return list.filter((u) => u.includes('/crash')).length >= 3;
    });
    const killed = new Promise((r) => child!.once('exit', r));
    child.kill('SIGKILL');
    await killed;
    await Promise.all(requests);

    child = await startLodged();
    const listed = ((await api('GET', '/1.0/instances?recursion=1')).json.metadata as Array<{ name: string; status: string }>).map((i) => i.name);
    const poolDir = join(dir, 'storage-pools', 'default');
    const complete: string[] = [];
    for (const name of names) {
      const res = await api('GET', `/1.0/instances/${name}`);
      if (listed.includes(name)) {
        expect(res.status).toBe(200);
        expect(res.json.metadata.status).toBe('Stopped');
        expect(existsSync(join(poolDir, 'containers', name))).toBe(true);
        complete.push(name);
      } else {
        expect(res.status).toBe(404);
        expect(existsSync(join(poolDir, 'containers', name))).toBe(false);
        expect(existsSync(join(dir, 'logs', name))).toBe(false);
      }
    }
    expect(complete.length).toBeGreaterThanOrEqual(3);

    // nothing half-made: no temporary volumes, no row without its volume or volume without its row
    expect(readdirSync(join(poolDir, 'containers')).filter((e) => e.startsWith('.'))).toEqual([]);
    expect(readdirSync(join(poolDir, 'images')).filter((e) => e.includes('.tmp-'))).toEqual([]);
    expect(readdirSync(join(poolDir, 'containers')).sort()).toEqual([...running, ...complete].sort());
    const pg = new Client({ connectionString: db.url });
    await pg.connect();
    try {
      const rows = (await pg.query('SELECT name FROM instances ORDER BY name')).rows.map((r) => r.name);
      expect(rows).toEqual([...running, ...complete].sort());
    } finally {
      await pg.end();
    }
    expect(mountsUnder(dir)).toEqual([]);

    // the containers that ran before the kill still run, with the same init, and show as Running
    for (const [i, name] of running.entries()) {
      const state = (await api('GET', `/1.0/instances/${name}/state`)).json.metadata;
      expect(state.status).toBe('Running');
      expect(state.pid).toBe(pidsBefore[i]);
    }
    expect(leftoverCgroups(parent).map((p) => p.split('/').pop()).filter((n, i, a) => a.indexOf(n) === i).sort()).toEqual(running);

    // a complete instance really works
    const one = complete[0];
    expect((await waitOp(await api('PUT', `/1.0/instances/${one}/state`, { action: 'start' }))).status).toBe('Success');
    expect((await api('GET', `/1.0/instances/${one}`)).json.metadata.status).toBe('Running');
    expect((await waitOp(await api('PUT', `/1.0/instances/${one}/state`, { action: 'stop', force: true }))).status).toBe('Success');
  });
});
