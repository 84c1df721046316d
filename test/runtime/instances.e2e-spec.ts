/**
 * The instance use cases against a real PostgreSQL, a real `dir` pool, the real busybox image
 * and real containers: what every transport (REST, nova, tasks) will call.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { AlreadyExistsError, ConflictError, InvalidArgumentError, NotFoundError } from '@lodge/common';
import { ImageStore } from '@lodge/image';
import { InstancesService } from '@lodge/instance';
import { BridgeDriver, DnsmasqSupervisor, NetlinkLinks, NetworkFirewall, NetworkReservations, NicDevices, ProxyDevices } from '@lodge/network';
import { probeCgroups, RuntimeService } from '@lodge/runtime';
import { IdmapRepository, ImagesRepository, InstancesRepository, NetworkAllocationsRepository, NetworksRepository, openStateDataSource, ProfilesRepository } from '@lodge/state';
import { StorageDriver, StorageDriverRegistry } from '@lodge/storage';
import { createTestDatabase, TestDatabase } from '../../libs/state/test/test-database';
import { IMAGES, makeHarness, run, waitFor } from './harness';

describe('instance lifecycle through the engine', () => {
  const h = makeHarness('engine');
  let db: TestDatabase;
  let ds: DataSource;
  let pool: StorageDriver;
  let store: ImageStore;
  let instances: InstancesRepository;
  let svc: InstancesService;
  const engine = (runtime: RuntimeService) =>
    new InstancesService(
      instances,
      new ProfilesRepository(ds),
      new ImagesRepository(ds),
      new IdmapRepository(ds),
      store,
      runtime,
      {
        get: (name: string) => {
          if (name !== 'default') throw new NotFoundError('Storage pool not found');
          return pool;
        },
      },
      { logDir: join(h.dir, 'logs') },
      new ProxyDevices(),
      nics(),
    );
  /** the real NIC devices (this test's instances have none) */
  const nics = () => {
    const links = new NetlinkLinks();
    const allocations = new NetworkAllocationsRepository(ds);
    const bridge = new BridgeDriver(links, new NetworkFirewall(), new DnsmasqSupervisor(), { dir: join(h.dir, 'networks'), autoSubnetPool: ['10.0.0.0/8'] });
    return new NicDevices(new NetworksRepository(ds), allocations, links, new NetworkReservations(allocations, bridge));
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = await openStateDataSource({ url: db.url });
    instances = new InstancesRepository(ds);
    pool = StorageDriverRegistry.withBuiltins().open('dir', join(h.dir, 'pool'));
    await pool.createPool();
    store = new ImageStore(join(h.dir, 'images'), pool);
    const info = await store.importUnified(join(IMAGES, 'busybox.tar.xz'), { unpack: false });
    const images = new ImagesRepository(ds);
    await images.create({ fingerprint: info.fingerprint, size: info.size, architecture: info.architecture });
    await images.createAlias({ name: 'bb', fingerprint: info.fingerprint });
    svc = engine(h.runtime);
  });
  afterAll(async () => {
    try {
      await h.teardown();
    } finally {
      await ds?.destroy();
      await db?.drop();
    }
  });

  it('creates from an alias, starts with the expanded config applied, stops and deletes', async () => {
    const row = await svc.create({
      name: 'c1',
      source: { type: 'image', alias: 'bb' },
      config: { 'limits.memory': '64MiB', 'environment.GREETING': 'hello lodge', 'limits.processes': '77' },
    });
    expect(row.status).toBe('Stopped');
    expect(row.config['volatile.base_image']).toMatch(/^[0-9a-f]{64}$/);
    expect(await pool.instanceVolumes()).toContain('c1');

    const c = await svc.start('c1');
    expect(svc.status('c1')).toBe('Running');
    expect((await instances.get('c1')).status).toBe('Running');
    const env = (await run(c, ['/bin/sh', '-c', 'tr "\\0" "\\n" < /proc/1/environ'])).stdout;
    expect(env).toContain('GREETING=hello lodge');
    const mem = c.cgroup.paths.find((p) => p.includes('/memory/'));
    if (mem) expect(Number(readFileSync(join(mem, 'memory.limit_in_bytes'), 'utf8'))).toBe(64 * 1024 * 1024);
    const pidsDir = c.cgroup.paths.find((p) => p.includes('/pids/')) ?? c.cgroup.paths[0];
    expect(readFileSync(join(pidsDir, 'pids.max'), 'utf8').trim()).toBe('77');
    await expect(svc.start('c1')).rejects.toThrow(ConflictError);
    await expect(svc.delete('c1')).rejects.toThrow(/running/);

    const exit = await svc.stop('c1', { force: true });
    expect(exit.reason).toBe('killed');
    expect(svc.status('c1')).toBe('Stopped');
    const stopped = await instances.get('c1');
    expect([stopped.status, stopped.runtime]).toEqual(['Stopped', null]);

    await svc.delete('c1');
    await expect(instances.get('c1')).rejects.toThrow(NotFoundError);
    expect(await pool.instanceVolumes()).not.toContain('c1');
  });

  it('refuses bad requests and leaves no row or volume behind', async () => {
    await expect(svc.create({ name: '1bad', source: { type: 'none' } })).rejects.toThrow(InvalidArgumentError);
    await expect(svc.create({ name: 'b1', source: { type: 'image', alias: 'nope' } })).rejects.toThrow(NotFoundError);
    await expect(svc.create({ name: 'b2', source: { type: 'image', alias: 'bb' }, profiles: ['missing'] })).rejects.toThrow(new InvalidArgumentError('Requested profile "missing" doesn\'t exist'));
    await expect(svc.create({ name: 'b3', source: { type: 'image', alias: 'bb' }, config: { 'limits.bogus': '1' } })).rejects.toThrow(
      'Unknown configuration key: limits.bogus',
    );
    expect(await instances.listNames()).toEqual([]);
    expect(await pool.instanceVolumes()).toEqual([]);
  });

  it('refuses a duplicate name without touching the existing instance', async () => {
    await svc.create({ name: 'dup', source: { type: 'image', alias: 'bb' } });
    await expect(svc.create({ name: 'dup', source: { type: 'none' } })).rejects.toThrow(AlreadyExistsError);
    expect(await pool.instanceVolumes()).toContain('dup');
    expect((await instances.get('dup')).config['volatile.base_image']).toBeDefined();
    await svc.delete('dup');
  });

  it('re-adopts running instances after a restart of the daemon', async () => {
    await svc.create({ name: 'keep', source: { type: 'image', alias: 'bb' } });
    const c = await svc.start('keep');
    // a new process: a new runtime and engine on the same cgroup parent and database
    const restarted = engine(new RuntimeService({ cgroups: probeCgroups({ parent: h.parent }) }));
    const result = await restarted.reconcile();
    expect(result.adopted).toEqual(['keep']);
    expect(restarted.status('keep')).toBe('Running');
    await restarted.stop('keep', { force: true });
    await waitFor(() => c.state === 'stopped');
    expect((await instances.get('keep')).status).toBe('Stopped');
    await restarted.delete('keep');
  });

  it('gives isolated instances host id ranges of their own', async () => {
    const isolated = { 'security.idmap.isolated': 'true' };
    await svc.create({ name: 'iso1', source: { type: 'image', alias: 'bb' }, config: isolated });
    await svc.create({ name: 'iso2', source: { type: 'image', alias: 'bb' }, config: isolated });
    const maps: number[][] = [];
    for (const name of ['iso1', 'iso2']) {
      const c = await svc.start(name);
      maps.push((await run(c, ['/bin/cat', '/proc/self/uid_map'])).stdout.trim().split(/\s+/).map(Number));
      expect((await run(c, ['/bin/sh', '-c', 'stat -c %u /etc/passwd'])).stdout.trim()).toBe('0');
    }
    const shared = h.runtime.defaultIdMaps().uidMap[0];
    const [a, b] = maps;
    expect(a[0]).toBe(0);
    expect(a[2]).toBe(65536);
    const overlaps = (x: number, y: number) => x < y + 65536 && y < x + 65536;
    expect(overlaps(a[1], b[1])).toBe(false);
    expect(overlaps(a[1], shared.outside)).toBe(false);
    expect(overlaps(b[1], shared.outside)).toBe(false);
    expect((await instances.get('iso1')).config['volatile.idmap.base']).toBe(String(a[1]));
    for (const name of ['iso1', 'iso2']) {
      await svc.stop(name, { force: true });
      await svc.delete(name);
    }
    expect((await ds.query('SELECT count(*)::int AS n FROM idmap_allocations'))[0].n).toBe(0);
  });

  it('starts at daemon start what should run (boot.autostart, or running when the host went down)', async () => {
    await svc.create({ name: 'auto', source: { type: 'image', alias: 'bb' }, config: { 'boot.autostart': 'true' } });
    await svc.create({ name: 'never', source: { type: 'image', alias: 'bb' }, config: { 'boot.autostart': 'false' } });
    await svc.create({ name: 'was', source: { type: 'image', alias: 'bb' } });
    // "was" ran when the host went down: its row says Running, its container is gone
    const c = await svc.start('was');
    const record = c.describe();
    await c.kill();
    await waitFor(async () => (await instances.get('was')).status === 'Stopped');
    await instances.update('was', { status: 'Running', runtime: record as unknown as Record<string, unknown> });
    await svc.start('never');
    await svc.stop('never', { force: true });

    const restarted = engine(new RuntimeService({ cgroups: probeCgroups({ parent: h.parent }) }));
    const result = await restarted.reconcile();
    expect(result.started.sort()).toEqual(['auto', 'was']);
    expect(result.adopted).toEqual([]);
    expect(restarted.status('auto')).toBe('Running');
    expect(restarted.status('was')).toBe('Running');
    expect(restarted.status('never')).toBe('Stopped');
    for (const name of ['auto', 'was']) await restarted.stop(name, { force: true });
    for (const name of ['auto', 'was', 'never']) await restarted.delete(name);
  });

  it('removes an ephemeral instance when it stops', async () => {
    await svc.create({ name: 'eph', source: { type: 'image', alias: 'bb' }, ephemeral: true });
    await svc.start('eph');
    await svc.stop('eph', { force: true });
    await expect(instances.get('eph')).rejects.toThrow(NotFoundError);
    expect(await pool.instanceVolumes()).not.toContain('eph');
  });
});
