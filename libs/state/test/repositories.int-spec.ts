import { AlreadyExistsError, InUseError, InvalidArgumentError, NotFoundError } from '@lodge/common';
import { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import {
  ALL_PROJECTS,
  CertificatesRepository,
  ImagesRepository,
  InstancesRepository,
  OperationsRepository,
  ProfilesRepository,
  ProjectsRepository,
  ServerConfigRepository,
  StateModule,
  StoragePoolsRepository,
} from '../src';
import { createTestDatabase, expectError, QueryCounter, TestDatabase } from './test-database';

const FP1 = 'a'.repeat(64);
const FP2 = 'b'.repeat(63) + 'c';

describe('state repositories (StateModule on a real PostgreSQL)', () => {
  let db: TestDatabase;
  let app: INestApplicationContext;
  const counter = new QueryCounter();
  let instances: InstancesRepository;
  let profiles: ProfilesRepository;
  let images: ImagesRepository;
  let certificates: CertificatesRepository;
  let serverConfig: ServerConfigRepository;
  let operations: OperationsRepository;
  let pools: StoragePoolsRepository;
  let projects: ProjectsRepository;

  beforeAll(async () => {
    db = await createTestDatabase();
    const mod = await Test.createTestingModule({ imports: [StateModule.forRoot({ url: db.url, logger: counter })] }).compile();
    app = await mod.init();
    instances = app.get(InstancesRepository);
    profiles = app.get(ProfilesRepository);
    images = app.get(ImagesRepository);
    certificates = app.get(CertificatesRepository);
    serverConfig = app.get(ServerConfigRepository);
    operations = app.get(OperationsRepository);
    pools = app.get(StoragePoolsRepository);
    projects = app.get(ProjectsRepository);
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  describe('instances', () => {
    it('creates, reads and lists with defaults from the schema', async () => {
      const c = await instances.create({
        name: 'c1',
        architecture: 'x86_64',
        profiles: ['default'],
        config: { 'volatile.base_image': FP1, 'limits.memory': '1GiB' },
        devices: { eth0: { type: 'nic', network: 'lxdbr0' } },
        storagePool: 'default',
      });
      expect(c).toMatchObject({ name: 'c1', project: 'default', type: 'container', status: 'Stopped', ephemeral: false });
      expect(c.id).toEqual(expect.any(Number));
      expect(c.createdAt).toBeInstanceOf(Date);
      expect(c.runtime).toBeNull();
      expect(await instances.get('c1')).toEqual(c);
      expect(await instances.listNames()).toEqual(['c1']);
    });

    it('refuses duplicates and unknown references with LXD wording', async () => {
      await expectError(instances.create({ name: 'c1', architecture: 'x86_64' }), AlreadyExistsError, 'An instance with that name already exists');
      await expectError(instances.create({ name: 'x', project: 'nope', architecture: 'x86_64' }), NotFoundError, 'Project not found');
      await expectError(instances.create({ name: 'x', architecture: 'x86_64', storagePool: 'nope' }), NotFoundError, 'Storage pool not found');
      await expectError(instances.get('missing'), NotFoundError, 'Instance not found');
      await expectError(instances.update('missing', { status: 'Running' }), NotFoundError, 'Instance not found');
      await expectError(instances.delete('missing'), NotFoundError, 'Instance not found');
      await expectError(instances.update('c1', { status: 'Bogus' as never }), InvalidArgumentError);
    });

    it('updates fields in one statement, patches config keys and keeps the runtime record', async () => {
      counter.reset();
      const u = await instances.update('c1', { status: 'Running', description: 'web', profiles: ['default', 'extra'] });
      expect(counter.statements).toHaveLength(1);
      expect(u).toMatchObject({ status: 'Running', description: 'web', profiles: ['default', 'extra'] });
      const rec = { pid: 4242, startTime: 123456789, cgroup: 'lodge/c1' };
      expect((await instances.setRuntime('c1', rec)).runtime).toEqual(rec);
      const p = await instances.patchConfig('c1', { 'limits.memory': null, 'volatile.last_state.power': 'RUNNING' });
      expect(p.config).toEqual({ 'volatile.base_image': FP1, 'volatile.last_state.power': 'RUNNING' });
      expect((await instances.setRuntime('c1', null)).runtime).toBeNull();
    });

    it('renames, and finds by nova uuid', async () => {
      const uuid = randomUUID();
      await instances.create({ name: 'c2', architecture: 'x86_64', novaUuid: uuid });
      await expectError(instances.rename('c1', 'c2'), AlreadyExistsError, 'An instance with that name already exists');
      const r = await instances.rename('c1', 'renamed');
      expect(r.name).toBe('renamed');
      expect((await instances.findByNovaUuid(uuid))?.name).toBe('c2');
      expect(await instances.findByNovaUuid(randomUUID())).toBeNull();
      await expectError(instances.create({ name: 'c3', architecture: 'x86_64', novaUuid: uuid }), AlreadyExistsError);
    });

    it('rolls a transaction back as a whole', async () => {
      await expectError(
        instances.transaction(async (tx) => {
          await tx.create({ name: 'tx1', architecture: 'x86_64' });
          await tx.create({ name: 'tx1', architecture: 'x86_64' });
        }),
        AlreadyExistsError,
      );
      await expectError(instances.get('tx1'), NotFoundError);
      const made = await instances.transaction(async (tx, m) => {
        const i = await tx.create({ name: 'tx2', architecture: 'x86_64' });
        await profiles.with(m).create({ name: 'tx2-profile' });
        return i;
      });
      expect((await instances.get('tx2')).id).toBe(made.id);
      expect((await profiles.get('tx2-profile')).name).toBe('tx2-profile');
    });

    it('lists 1000 instances with one query', async () => {
      await projects.create({ name: 'bulk' });
      await instances.transaction(async (tx) => {
        for (let i = 0; i < 1000; i++) {
          await tx.create({ name: `b${String(i).padStart(4, '0')}`, project: 'bulk', architecture: 'x86_64', config: { k: String(i) } });
        }
      });
      counter.reset();
      const all = await instances.list('bulk');
      expect(counter.statements).toHaveLength(1);
      expect(all).toHaveLength(1000);
      expect(all[0]).toMatchObject({ name: 'b0000', config: { k: '0' } });
      expect(all[999].name).toBe('b0999');
      counter.reset();
      expect(await instances.listNames('bulk')).toHaveLength(1000);
      expect(counter.statements).toHaveLength(1);
      expect((await instances.list(ALL_PROJECTS)).length).toBeGreaterThan(1000);
    });
  });

  describe('profiles', () => {
    it('has the seeded default profile', async () => {
      expect(await profiles.get('default')).toMatchObject({
        config: {},
        devices: { root: { type: 'disk', path: '/', pool: 'default' } },
      });
    });

    it('CRUD with LXD wording, usedBy, rename follows into instances, delete refuses in use', async () => {
      await profiles.create({ name: 'extra', config: { 'limits.cpu': '2' } });
      await expectError(profiles.create({ name: 'extra' }), AlreadyExistsError, 'The profile already exists');
      await expectError(profiles.get('nope'), NotFoundError, 'Profile not found');
      expect((await profiles.update('extra', { description: 'more' })).description).toBe('more');
      expect(await profiles.usedBy('extra')).toEqual(['renamed']);
      expect(await profiles.usedBy('default')).toEqual(['renamed']);
      expect((await profiles.getMany(['extra', 'default'])).map((p) => p.name)).toEqual(['extra', 'default']);
      await expectError(profiles.getMany(['extra', 'nope']), NotFoundError);

      await profiles.rename('extra', 'bigger');
      expect((await instances.get('renamed')).profiles).toEqual(['default', 'bigger']);
      await expectError(profiles.rename('bigger', 'default'), AlreadyExistsError);

      await expectError(profiles.delete('bigger'), InUseError, 'Profile is currently in use');
      await instances.update('renamed', { profiles: ['default'] });
      expect(await profiles.usedBy('bigger')).toEqual([]);
      await profiles.delete('bigger');
      await expectError(profiles.delete('bigger'), NotFoundError, 'Profile not found');
      expect(await profiles.listNames()).toEqual(['default', 'tx2-profile']);
    });
  });

  describe('images and aliases', () => {
    it('stores images, resolves prefixes, and deleting an image deletes its aliases', async () => {
      const img = await images.create({
        fingerprint: FP1,
        filename: 'busybox.tar.xz',
        size: 5_000_000_000,
        architecture: 'x86_64',
        properties: { os: 'busybox' },
        metadata: { templates: { '/etc/hostname': { when: ['create'], template: 'hostname.tpl' } } },
      });
      expect(img).toMatchObject({ size: 5_000_000_000, public: false, cached: false, expiresAt: null });
      await images.create({ fingerprint: FP2, size: 1, architecture: 'x86_64' });
      await expectError(images.create({ fingerprint: FP1, size: 1, architecture: 'x86_64' }), AlreadyExistsError);
      await expectError(images.create({ fingerprint: 'XYZ', size: 1, architecture: 'x86_64' }), InvalidArgumentError);
      expect((await images.getByPrefix('aaaa')).fingerprint).toBe(FP1);
      await expectError(images.getByPrefix('ff'), NotFoundError, 'Image not found');
      expect((await images.update(FP1, { public: true })).public).toBe(true);

      await images.createAlias({ name: 'busybox', fingerprint: FP1, description: 'bb' });
      await images.createAlias({ name: 'bb2', fingerprint: FP1 });
      await images.createAlias({ name: 'other', fingerprint: FP2 });
      await expectError(images.createAlias({ name: 'busybox', fingerprint: FP2 }), AlreadyExistsError, 'Alias already exists');
      await expectError(images.createAlias({ name: 'x', fingerprint: 'c'.repeat(64) }), NotFoundError, 'Image not found');
      expect((await images.aliasesOf(FP1)).map((a) => a.name)).toEqual(['bb2', 'busybox']);
      expect((await images.updateAlias('bb2', { fingerprint: FP2 })).fingerprint).toBe(FP2);
      await images.renameAlias('bb2', 'bb3');
      await expectError(images.getAlias('bb2'), NotFoundError, 'Image alias not found');

      await images.delete(FP1);
      await expectError(images.get(FP1), NotFoundError, 'Image not found');
      expect((await images.listAliases()).map((a) => a.name)).toEqual(['bb3', 'other']);
      await expectError(images.delete(FP1), NotFoundError);
    });
  });

  describe('certificates', () => {
    it('trust store CRUD', async () => {
      const fp = 'd'.repeat(64);
      await certificates.create({ fingerprint: fp, certificate: '-----BEGIN CERTIFICATE-----\n...', name: 'juju' });
      await expectError(certificates.create({ fingerprint: fp, certificate: 'x' }), AlreadyExistsError, 'Certificate already in trust store');
      expect(await certificates.isTrusted(fp)).toBe(true);
      expect(await certificates.isTrusted('e'.repeat(64))).toBe(false);
      const u = await certificates.update(fp, { restricted: true, projects: ['default'] });
      expect(u).toMatchObject({ type: 'client', restricted: true, projects: ['default'] });
      expect((await certificates.getByPrefix('ddd')).name).toBe('juju');
      await certificates.delete(fp);
      await expectError(certificates.get(fp), NotFoundError, 'Certificate not found');
    });
  });

  describe('server config', () => {
    it('sets, unsets and replaces keys', async () => {
      expect(await serverConfig.getAll()).toEqual({});
      await serverConfig.set({ 'core.https_address': ':8443', 'images.auto_update_interval': '6' });
      await serverConfig.set({ 'images.auto_update_interval': '0', 'core.https_address': null });
      expect(await serverConfig.getAll()).toEqual({ 'images.auto_update_interval': '0' });
      await serverConfig.set({ 'core.trust_password': '' });
      expect(await serverConfig.get('core.trust_password')).toBeUndefined();
      await serverConfig.replace({ 'core.https_address': '[::]:8443' });
      expect(await serverConfig.getAll()).toEqual({ 'core.https_address': '[::]:8443' });
      await serverConfig.unset(['core.https_address']);
      expect(await serverConfig.getAll()).toEqual({});
    });
  });

  describe('operations', () => {
    it('records operations and fails unfinished ones after a restart', async () => {
      const id = randomUUID();
      const op = await operations.create({
        id,
        class: 'task',
        description: 'Creating instance',
        statusCode: 103,
        resources: { instances: ['/1.0/instances/c1'] },
        mayCancel: false,
      });
      expect(op).toMatchObject({ id, err: '', metadata: null });
      const done = await operations.create({ id: randomUUID(), class: 'websocket', statusCode: 200 });
      const later = await operations.update(done.id, { metadata: { fds: {} } });
      expect(later.updatedAt.getTime()).toBeGreaterThanOrEqual(done.updatedAt.getTime());
      expect(await operations.failUnfinished()).toBe(1);
      expect(await operations.get(id)).toMatchObject({ statusCode: 400, err: expect.stringMatching(/restarted/) });
      expect((await operations.list()).map((o) => o.id)).toEqual([id, done.id]);
      await expectError(operations.get('not-a-uuid'), NotFoundError, 'Operation not found');
      await operations.delete(id);
      await expectError(operations.get(id), NotFoundError);
    });
  });

  describe('storage pools and projects', () => {
    it('pools: CRUD, usedBy, delete refused while in use', async () => {
      expect((await pools.get('default')).driver).toBe('dir');
      await expectError(pools.create({ name: 'default', driver: 'dir' }), AlreadyExistsError, 'The storage pool already exists');
      await pools.create({ name: 'fast', driver: 'btrfs', config: { source: '/srv/fast' } });
      await instances.update('renamed', { storagePool: 'fast' });
      expect(await pools.usedBy('fast')).toEqual([{ project: 'default', name: 'renamed' }]);
      await expectError(pools.delete('fast'), InUseError);
      await instances.update('renamed', { storagePool: 'default' });
      await pools.delete('fast');
      await expectError(pools.get('fast'), NotFoundError, 'Storage pool not found');
    });

    it('projects: delete refused while instances belong to it', async () => {
      await expectError(projects.delete('bulk'), InUseError);
      await expectError(projects.create({ name: 'bulk' }), AlreadyExistsError, 'The project already exists');
      await projects.create({ name: 'empty' });
      await projects.delete('empty');
      await expectError(projects.get('empty'), NotFoundError, 'Project not found');
    });
  });

  it('exposes the migrated DataSource', () => {
    expect(app.get(DataSource).isInitialized).toBe(true);
  });

  it('forRootAsync takes its options from another provider', async () => {
    const mod = await Test.createTestingModule({
      imports: [StateModule.forRootAsync({ inject: [], useFactory: async () => ({ url: db.url, poolSize: 2 }) })],
    }).compile();
    const other = await mod.init();
    try {
      expect((await other.get(ProfilesRepository).get('default')).name).toBe('default');
    } finally {
      await other.close();
    }
    expect(other.get(DataSource).isInitialized).toBe(false); // closed with the application
  });
});
