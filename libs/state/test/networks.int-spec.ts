import { AlreadyExistsError, ConflictError, InUseError, NotFoundError } from '@lodge/common';
import { DataSource } from 'typeorm';
import {
  InstancesRepository,
  NetworkAllocationsRepository,
  NetworkExhaustedError,
  NetworksRepository,
  openStateDataSource,
} from '../src';
import { createTestDatabase, expectError, TestDatabase } from './test-database';

/** The lowest address of 10.40.0.2..10.40.0.254 not taken: a stand-in for the IPAM's nextFreeAddress. */
const lowestFree = (taken: string[]): string | undefined => {
  const t = new Set(taken);
  for (let i = 2; i < 255; i++) if (!t.has(`10.40.0.${i}`)) return `10.40.0.${i}`;
  return undefined;
};
const mac = (i: number) => `00:16:3e:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;

describe('networks and address allocations (real PostgreSQL)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let instances: InstancesRepository;
  let networks: NetworksRepository;
  let allocations: NetworkAllocationsRepository;
  const ids: number[] = [];
  let netId: number;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = await openStateDataSource({ url: db.url, poolSize: 20 });
    instances = new InstancesRepository(ds);
    networks = new NetworksRepository(ds);
    allocations = new NetworkAllocationsRepository(ds);
    for (let i = 0; i < 60; i++) ids.push((await instances.create({ name: `c${i}`, architecture: 'x86_64' })).id);
    netId = (await networks.create({ name: 'lodgebr0', config: { 'ipv4.address': '10.40.0.1/24' } })).id;
  });

  afterAll(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await db?.drop();
  });

  it('networks: create, get, list, update, status, rename; names are unique', async () => {
    const n = await networks.create({ name: 'spare', description: 'd', config: { 'ipv4.address': '10.41.0.1/24' } });
    expect(n).toMatchObject({ name: 'spare', type: 'bridge', status: 'Pending', description: 'd' });
    expect(n.createdAt).toBeInstanceOf(Date);
    await expectError(networks.create({ name: 'spare' }), AlreadyExistsError, 'The network already exists');
    expect((await networks.setStatus('spare', 'Created')).status).toBe('Created');
    expect((await networks.update('spare', { config: { 'ipv4.nat': 'true' } })).config).toEqual({ 'ipv4.nat': 'true' });
    await expectError(networks.rename('spare', 'lodgebr0'), AlreadyExistsError);
    expect((await networks.rename('spare', 'spare2')).name).toBe('spare2');
    expect((await networks.list()).map((x) => x.name)).toEqual(['lodgebr0', 'spare2']);
    await expectError(networks.get('spare'), NotFoundError, 'Network not found');
    await expectError(networks.update('nope', { description: 'x' }), NotFoundError);
    await networks.delete('spare2');
    await expectError(networks.delete('spare2'), NotFoundError);
  });

  it('50 concurrent allocations on one network get 50 distinct addresses', async () => {
    const got = await Promise.all(
      ids.slice(0, 50).map((id, i) => allocations.allocate({ networkId: netId, instanceId: id, device: 'eth0', hwaddr: mac(i) }, lowestFree)),
    );
    const addrs = got.map((a) => a.ipv4Address);
    expect(new Set(addrs).size).toBe(50);
    // the pick runs under the network's lock, so the pool fills from the bottom without holes
    expect([...addrs].sort()).toEqual(Array.from({ length: 50 }, (_, i) => `10.40.0.${i + 2}`).sort());
    expect(got.every((a) => !a.static && a.device === 'eth0')).toBe(true);
    expect(await allocations.listForNetwork(netId)).toHaveLength(50);
  });

  it('the database refuses a second holder of an address or a MAC', async () => {
    const a = await allocations.get(ids[0], 'eth0');
    await expect(
      ds.query(`INSERT INTO network_allocations (network_id, instance_id, device, hwaddr, ipv4_address) VALUES ($1, $2, 'eth9', '00:16:3e:ff:ff:ff', $3)`, [
        netId,
        ids[55],
        a.ipv4Address,
      ]),
    ).rejects.toMatchObject({ code: '23505' });
    await expectError(
      allocations.allocate({ networkId: netId, instanceId: ids[55], device: 'eth0', hwaddr: mac(0) }, lowestFree),
      AlreadyExistsError,
      `MAC address "${mac(0)}" is already in use on the network`,
    );
    await expectError(
      allocations.allocate({ networkId: netId, instanceId: ids[55], device: 'eth0', hwaddr: '00:16:3e:aa:00:01', ipv4Address: a.ipv4Address! }),
      ConflictError,
      `IP address "${a.ipv4Address}" is already in use on the network`,
    );
    await expectError(
      allocations.allocate({ networkId: netId, instanceId: ids[0], device: 'eth0', hwaddr: '00:16:3e:aa:00:02' }, lowestFree),
      AlreadyExistsError,
      'Device "eth0" already has an address allocation',
    );
    await expectError(allocations.allocate({ networkId: 999_999, instanceId: ids[55], device: 'eth0', hwaddr: '00:16:3e:aa:00:03' }, lowestFree), NotFoundError);
  });

  it('a static address; a pick that loses a race is picked again', async () => {
    const s = await allocations.allocate({ networkId: netId, instanceId: ids[50], device: 'eth0', hwaddr: '00:16:3E:0A:0B:0C', ipv4Address: '10.40.0.200' });
    expect(s).toMatchObject({ static: true, ipv4Address: '10.40.0.200', hwaddr: '00:16:3e:0a:0b:0c' });
    // first pick returns a taken address, as a racing static insert would cause
    let calls = 0;
    const racy = (taken: string[]) => (++calls === 1 ? '10.40.0.200' : lowestFree(taken));
    const r = await allocations.allocate({ networkId: netId, instanceId: ids[51], device: 'eth0', hwaddr: mac(51) }, racy);
    expect(calls).toBe(2);
    expect(r.ipv4Address).toBe('10.40.0.52');
  });

  it('leases list names; release, instance delete and exhaustion', async () => {
    const leases = await allocations.leases(netId);
    const c0 = await allocations.get(ids[0], 'eth0');
    expect(leases.find((l) => l.instance === 'c0')).toEqual({ project: 'default', instance: 'c0', device: 'eth0', hwaddr: mac(0), ipv4Address: c0.ipv4Address, static: false });
    expect(leases[0].ipv4Address).toBe('10.40.0.2'); // address order
    expect(leases.find((l) => l.static)).toMatchObject({ instance: 'c50', ipv4Address: '10.40.0.200' });

    // concurrent allocations took addresses in lock order, so look up what c3 and c4 hold
    const held3 = (await allocations.get(ids[3], 'eth0')).ipv4Address;
    const held4 = (await allocations.get(ids[4], 'eth0')).ipv4Address;
    expect(await allocations.release(ids[3], 'eth0')).toBe(true);
    expect(await allocations.release(ids[3], 'eth0')).toBe(false);
    const again = await allocations.allocate({ networkId: netId, instanceId: ids[52], device: 'eth0', hwaddr: mac(52) }, lowestFree);
    expect(again.ipv4Address).toBe(held3); // the hole is reused

    await instances.delete('c4'); // cascade frees its address
    expect(await allocations.listForInstance(ids[4])).toEqual([]);
    expect((await allocations.allocate({ networkId: netId, instanceId: ids[53], device: 'eth1', hwaddr: mac(53) }, lowestFree)).ipv4Address).toBe(held4);

    await expectError(
      allocations.allocate({ networkId: netId, instanceId: ids[54], device: 'eth0', hwaddr: mac(54) }, () => undefined),
      NetworkExhaustedError,
    );
    // no picker: a network without IPv4 still records the MAC
    expect((await allocations.allocate({ networkId: netId, instanceId: ids[54], device: 'eth1', hwaddr: mac(54) })).ipv4Address).toBeNull();
    expect(await allocations.releaseInstance(ids[54])).toBe(1);
  });

  it('a network with allocations cannot be deleted; allocations roll back with a caller transaction', async () => {
    await expectError(networks.delete('lodgebr0'), InUseError, 'The network is currently in use');
    await expect(
      instances.transaction(async (_tx, m) => {
        await allocations.with(m).allocate({ networkId: netId, instanceId: ids[56], device: 'eth0', hwaddr: mac(56) }, lowestFree);
        throw new Error('later step failed');
      }),
    ).rejects.toThrow('later step failed');
    expect(await allocations.find(ids[56], 'eth0')).toBeNull();
  });
});
