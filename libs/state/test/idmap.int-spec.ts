import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from '@lodge/common';
import { DataSource } from 'typeorm';
import { IdmapExhaustedError, IdmapRepository, InstancesRepository, openStateDataSource, SubidRange } from '../src';
import { createTestDatabase, expectError, TestDatabase } from './test-database';

const SIZE = 65536;
/** Room for exactly 60 ranges of 65536: two subordinate ranges of 40 and 20 slots. */
const RANGES: SubidRange[] = [
  { start: 1_000_000_000, count: 40 * SIZE },
  { start: 2_000_000_000, count: 20 * SIZE },
];

describe('idmap allocations (real PostgreSQL)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let instances: InstancesRepository;
  let idmap: IdmapRepository;
  const ids: number[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = await openStateDataSource({ url: db.url, poolSize: 20 });
    instances = new InstancesRepository(ds);
    idmap = new IdmapRepository(ds);
    for (let i = 0; i < 61; i++) ids.push((await instances.create({ name: `i${i}`, architecture: 'x86_64' })).id);
  });

  afterAll(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await db?.drop();
  });

  const overlaps = (a: { base: number; size: number }, b: { base: number; size: number }) =>
    a.base < b.base + b.size && b.base < a.base + a.size;

  it('50 concurrent allocations all succeed, inside the ranges, never overlapping', async () => {
    const got = await Promise.all(ids.slice(0, 50).map((id) => idmap.allocate(id, SIZE, RANGES)));
    expect(new Set(got.map((a) => a.instanceId)).size).toBe(50);
    const uid = got.map((a) => ({ base: a.hostUidBase, size: a.size }));
    const gid = got.map((a) => ({ base: a.hostGidBase, size: a.size }));
    for (const set of [uid, gid]) {
      for (const r of set) {
        expect(RANGES.some((s) => r.base >= s.start && r.base + r.size <= s.start + s.count)).toBe(true);
      }
      for (let i = 0; i < set.length; i++) for (let j = i + 1; j < set.length; j++) expect(overlaps(set[i], set[j])).toBe(false);
    }
    // first fit: the 50 ranges are the first 40 slots of range 1 and the first 10 of range 2
    expect(uid.map((r) => r.base).sort((a, b) => a - b)).toEqual([
      ...Array.from({ length: 40 }, (_, i) => RANGES[0].start + i * SIZE),
      ...Array.from({ length: 10 }, (_, i) => RANGES[1].start + i * SIZE),
    ]);
    expect((await idmap.list()).length).toBe(50);
  });

  it('the database itself refuses an overlapping range (exclusion constraint)', async () => {
    const a = await idmap.get(ids[0]);
    await expect(
      ds.query('INSERT INTO idmap_allocations (instance_id, host_uid_base, host_gid_base, size) VALUES ($1, $2, $3, 10)', [
        ids[60],
        a.hostUidBase + 5,
        5,
      ]),
    ).rejects.toMatchObject({ code: '23P01' });
  });

  it('refuses a second allocation for an instance, and unknown instances', async () => {
    await expectError(idmap.allocate(ids[0], SIZE, RANGES), AlreadyExistsError, 'The instance already has an idmap allocation');
    await expectError(idmap.allocate(999_999, SIZE, RANGES), NotFoundError, 'Instance not found');
    await expectError(idmap.allocate(ids[55], 0, RANGES), InvalidArgumentError);
  });

  it('exhaustion gives a clear error; release and instance delete make room', async () => {
    await Promise.all(ids.slice(50, 60).map((id) => idmap.allocate(id, SIZE, RANGES)));
    const err = await expectError(idmap.allocate(ids[60], SIZE, RANGES), IdmapExhaustedError);
    expect(err.message).toMatch(/Not enough uid\/gid available/);

    const freed = await idmap.get(ids[7]);
    expect(await idmap.release(ids[7])).toBe(true);
    expect(await idmap.release(ids[7])).toBe(false);
    await expectError(idmap.get(ids[7]), NotFoundError);
    const again = await idmap.allocate(ids[60], SIZE, RANGES);
    expect(again.hostUidBase).toBe(freed.hostUidBase); // the hole is reused

    const onDelete = await idmap.get(ids[20]);
    await instances.delete('i20'); // ON DELETE CASCADE releases its range
    expect(await idmap.find(ids[20])).toBeNull();
    const next = await instances.create({ name: 'late', architecture: 'x86_64' });
    expect((await idmap.allocate(next.id, SIZE, RANGES)).hostUidBase).toBe(onDelete.hostUidBase);
  });

  it('smaller sizes fill gaps; separate uid and gid ranges are honoured', async () => {
    const n1 = await instances.create({ name: 'small1', architecture: 'x86_64' });
    const n2 = await instances.create({ name: 'small2', architecture: 'x86_64' });
    const uid = [{ start: 5_000_000_000, count: 1000 }];
    const gid = [{ start: 6_000_000_000, count: 1000 }];
    const a = await idmap.allocate(n1.id, 600, { uid, gid });
    expect(a).toMatchObject({ hostUidBase: 5_000_000_000, hostGidBase: 6_000_000_000, size: 600 });
    await expectError(idmap.allocate(n2.id, 600, { uid, gid }), IdmapExhaustedError);
    expect(await idmap.allocate(n2.id, 400, { uid, gid })).toMatchObject({ hostUidBase: 5_000_000_600, hostGidBase: 6_000_000_600 });
  });

  it('allocates inside a caller transaction and rolls back with it', async () => {
    const n = await instances.create({ name: 'txi', architecture: 'x86_64' });
    const ranges = [{ start: 7_000_000_000, count: SIZE }];
    await expect(
      instances.transaction(async (_tx, m) => {
        await idmap.with(m).allocate(n.id, SIZE, ranges);
        throw new Error('later step failed');
      }),
    ).rejects.toThrow('later step failed');
    expect(await idmap.find(n.id)).toBeNull();
    expect((await idmap.allocate(n.id, SIZE, ranges)).hostUidBase).toBe(7_000_000_000);
  });
});
