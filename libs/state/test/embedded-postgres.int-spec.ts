import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { EmbeddedPostgres, InstancesRepository, openStateDataSource, parseDatabaseUrl, processIsRunning } from '../src';

/** A real private server under a temp state dir; every process it starts is stopped in afterAll. */
describe('EmbeddedPostgres (Debian server binaries, real processes)', () => {
  let dir: string;
  let pg: EmbeddedPostgres;
  let ds: DataSource | undefined;
  const pids = new Set<number>();

  const remember = async (p: EmbeddedPostgres) => {
    const pid = await p.pid();
    if (pid) pids.add(pid);
    return pid;
  };

  const alive = processIsRunning;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lodge-embedded-pg-'));
    pg = new EmbeddedPostgres({ dir });
  });

  afterAll(async () => {
    await ds?.destroy().catch(() => undefined);
    try {
      await pg.stop();
    } catch {
      /* fall through to kill */
    }
    await remember(pg).catch(() => undefined);
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL'); // only postmasters we started
    rmSync(dir, { recursive: true, force: true });
  });

  const query = async (sql: string) => {
    const c = new Client(parseDatabaseUrl(pg.url));
    await c.connect();
    try {
      return (await c.query(sql)).rows;
    } finally {
      await c.end();
    }
  };

  it('initialises on first start, listens on its socket only, and runs the migrations', async () => {
    await pg.start();
    await remember(pg);
    expect(pg.timings).toMatchObject({ reused: false, initdbMs: expect.any(Number) });
    expect(pg.url).toBe(`postgres://lodge@${encodeURIComponent(join(dir, 'database', 'run'))}/lodge`);
    expect(await query('SHOW listen_addresses')).toEqual([{ listen_addresses: '' }]);
    expect(await query('SELECT current_user AS u, current_database() AS d')).toEqual([{ u: 'lodge', d: 'lodge' }]);
    const st = statSync(join(dir, 'database'));
    expect(st.mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'database', 'data')).mode & 0o777).toBe(0o700);
    if (process.getuid?.() === 0) expect(st.uid).not.toBe(0); // root cannot run postgres: its own user owns it

    ds = await openStateDataSource({ url: pg.url });
    await new InstancesRepository(ds).create({ name: 'persisted', architecture: 'x86_64' });
    await ds.destroy();
    ds = undefined;
  });

  it('start() is idempotent, also when called concurrently', async () => {
    const pid = await pg.pid();
    await Promise.all([pg.start(), pg.start()]);
    expect(pg.timings?.reused).toBe(true);
    expect(await pg.pid()).toBe(pid);
  });

  it('stops, and starts again with the data kept', async () => {
    const pid = (await pg.pid())!;
    await pg.stop();
    expect(alive(pid)).toBe(false);
    expect(await pg.pid()).toBeUndefined();
    await pg.stop(); // no-op when stopped

    await pg.start();
    await remember(pg);
    expect(pg.timings).toMatchObject({ reused: false, initdbMs: undefined });
    expect(await query('SELECT name FROM instances')).toEqual([{ name: 'persisted' }]);
  });

  it('a new daemon process reuses the server that is already running (e.g. after a daemon crash)', async () => {
    const other = new EmbeddedPostgres({ dir });
    await other.start();
    expect(other.timings?.reused).toBe(true);
    expect(await other.pid()).toBe(await pg.pid());
  });

  it('recovers after the postmaster is killed with SIGKILL', async () => {
    const pid = (await pg.pid())!;
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 500 && alive(pid); i++) await new Promise((r) => setTimeout(r, 10));
    expect(alive(pid)).toBe(false);

    const restarted = new EmbeddedPostgres({ dir });
    await restarted.start(); // stale postmaster.pid; old backends may still be exiting
    const newPid = await remember(restarted);
    expect(newPid).toBeDefined();
    expect(newPid).not.toBe(pid);
    expect(await query('SELECT name FROM instances')).toEqual([{ name: 'persisted' }]);
  });

  it('explains how to get the server binaries when they are missing', async () => {
    await expect(EmbeddedPostgres.findBinaries(join(dir, 'no-postgresql'))).rejects.toThrow(/apt-get install postgresql/);
    const found = await EmbeddedPostgres.findBinaries();
    expect(found.binDir).toMatch(/^\/usr\/lib\/postgresql\/\d+\/bin$/);
  });
});
