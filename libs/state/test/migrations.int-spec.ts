import { DataSource } from 'typeorm';
import { createStateDataSource } from '../src/data-source';
import { createTestDatabase, TestDatabase } from './test-database';

const TABLES = [
  'certificates',
  'idmap_allocations',
  'image_aliases',
  'images',
  'instances',
  'network_allocations',
  'networks',
  'operations',
  'profiles',
  'projects',
  'server_config',
  'storage_pools',
];

describe('migrations', () => {
  let db: TestDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createStateDataSource({ url: db.url });
    await ds.initialize();
  });

  afterAll(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await db?.drop();
  });

  const tables = async (): Promise<string[]> =>
    (
      (await ds.query(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'migrations' ORDER BY 1`,
      )) as Array<{ table_name: string }>
    ).map((r) => r.table_name);

  const seeds = async () => ({
    projects: await ds.query(`SELECT name, config FROM projects`),
    pools: await ds.query(`SELECT name, driver, config FROM storage_pools`),
    profiles: await ds.query(`SELECT project, name, config, devices FROM profiles`),
  });

  it('creates every table and seeds default project, profile and pool', async () => {
    const ran = await ds.runMigrations();
    expect(ran.map((m) => m.name)).toEqual(['InitialSchema1764000000000', 'Networks1795525676177']);
    expect(await tables()).toEqual(TABLES);
    const s = await seeds();
    expect(s.projects).toEqual([{ name: 'default', config: expect.objectContaining({ 'features.profiles': 'true' }) }]);
    expect(s.pools).toEqual([{ name: 'default', driver: 'dir', config: {} }]);
    expect(s.profiles).toEqual([
      { project: 'default', name: 'default', config: {}, devices: { root: { type: 'disk', path: '/', pool: 'default' } } },
    ]);
    expect(await ds.showMigrations()).toBe(false); // nothing pending
  });

  it('reverts to an empty schema and applies again', async () => {
    await ds.undoLastMigration();
    expect(await tables()).toEqual(TABLES.filter((t) => !t.startsWith('network')));
    await ds.undoLastMigration();
    expect(await tables()).toEqual([]);
    expect(await ds.showMigrations()).toBe(true);
    await ds.runMigrations();
    expect(await tables()).toEqual(TABLES);
    expect((await seeds()).profiles).toHaveLength(1);
  });

  it('matches the entity metadata (a schema diff finds nothing to change)', async () => {
    const sql = await ds.driver.createSchemaBuilder().log();
    const changes = sql.upQueries.map((q) => q.query);
    expect(changes).toEqual([]);
  });
});
