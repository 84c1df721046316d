/**
 * Lodge reports its compute node to a real OpenStack placement (Debian's python3-placement),
 * the way nova-compute's resource tracker does: a resource provider with the ComputeNode's uuid
 * and hypervisor_hostname, VCPU / MEMORY_MB / DISK_GB inventory matching the node, and an
 * instance's allocations removed when it is terminated. Everything is read back from placement
 * and from nova's database (the nova harness), as an operator would check it.
 */
import { randomUUID } from 'node:crypto';
import { EngineDaemon, importBusybox, startEngineDaemon } from '../engine-daemon';
import { eventually, NovaSide, startNovaSide } from '../nova-harness';
import { freePort } from '../free-port';
import { PLACEMENT_ADMIN_TOKEN, PlacementServer, startPlacementServer } from '../placement-server';

jest.setTimeout(180_000);

describe('placement reporting (nova 26 harness + placement 8)', () => {
  let nova: NovaSide;
  let d: EngineDaemon;
  let placement: PlacementServer | undefined;
  let placementPort: number;
  const imageRef = randomUUID();

  beforeAll(async () => {
    nova = await startNovaSide('placement');
    try {
      // placement is configured but not running yet: the host must come up without it
      placementPort = await freePort();
      d = await startEngineDaemon('placement', {
        nova: {
          amqpUrl: nova.transportUrl,
          host: nova.computeHost,
          rpcTimeout: 10,
          timers: { reportInterval: 1, resourceInterval: 1, powerSyncInterval: 5 },
          placement: { url: `http://127.0.0.1:${placementPort}`, token: PLACEMENT_ADMIN_TOKEN, timeoutMs: 10_000 },
        },
      });
      await importBusybox(d, imageRef);
      await nova.cmd('create_flavor', { name: 'm1.placement', vcpus: 1, memory_mb: 128, root_gb: 1 });
    } catch (err) {
      await d?.cleanup();
      await nova.close();
      throw err;
    }
  });

  afterAll(async () => {
    await d?.cleanup();
    await placement?.stop();
    await nova?.close();
  });

  /** The ComputeNode as nova's database has it. */
  const computeNode = async () => {
    const s = await nova.cmd('service');
    return s.compute_nodes.length === 1 ? s.compute_nodes[0] : undefined;
  };

  /** The provider and its inventories once placement has both, or undefined. */
  const providerOf = async (uuid: string) => {
    const rp = await placement!.api('GET', `/resource_providers/${uuid}`, { version: '1.14' });
    if (rp.status !== 200) return undefined;
    const inv = await placement!.api('GET', `/resource_providers/${uuid}/inventories`);
    return Object.keys(inv.body.inventories).length ? { provider: rp.body, inventories: inv.body.inventories } : undefined;
  };

  it('registers the service and the compute node while placement is down', async () => {
    const node = await eventually(computeNode, 30_000);
    expect(node).toMatchObject({ hypervisor_hostname: nova.computeHost, hypervisor_type: 'lxd' });
    const s = await eventually(async () => {
      const svc = await nova.cmd('service');
      return svc.service.report_count >= 3 ? svc : undefined;
    }, 30_000);
    expect(s.service).toMatchObject({ host: nova.computeHost, binary: 'nova-compute' });
    // and the daemon still serves its own API
    expect((await d.api('GET', '/1.0')).status).toBe(200);
  });

  it('once placement is up, the compute node has a resource provider with its inventory', async () => {
    placement = await startPlacementServer({ port: placementPort });
    const node = await eventually(computeNode, 10_000);
    const { provider, inventories } = await eventually(() => providerOf(node.uuid), 30_000);
    expect(provider).toMatchObject({ uuid: node.uuid, name: node.hypervisor_hostname, root_provider_uuid: node.uuid, parent_provider_uuid: null });
    // nova's libvirt inventory: the node's totals, allocatable in one piece, 512 MB reserved
    const expected: Record<string, any> = {
      VCPU: { total: node.vcpus, reserved: 0, min_unit: 1, max_unit: node.vcpus, step_size: 1 },
      MEMORY_MB: { total: node.memory_mb, reserved: 512, min_unit: 1, max_unit: node.memory_mb, step_size: 1 },
    };
    if (node.local_gb > 0) expected.DISK_GB = { total: node.local_gb, reserved: 0, min_unit: 1, max_unit: node.local_gb, step_size: 1 };
    expect(Object.keys(inventories).sort()).toEqual(Object.keys(expected).sort());
    for (const [rc, want] of Object.entries(expected)) expect(inventories[rc]).toMatchObject(want);
    expect(inventories.VCPU.allocation_ratio).toBeGreaterThan(0);
  });

  it('puts right an inventory changed or a provider deleted behind its back', async () => {
    const node = await eventually(computeNode, 10_000);
    const before = await eventually(() => providerOf(node.uuid), 30_000);
    const changed = await placement!.api('PUT', `/resource_providers/${node.uuid}/inventories/VCPU`, {
      body: { resource_provider_generation: before.provider.generation, ...before.inventories.VCPU, total: node.vcpus + 100, max_unit: 1 },
    });
    expect(changed.status).toBe(200);
    const repaired = await eventually(async () => {
      const p = await providerOf(node.uuid);
      return p && p.inventories.VCPU.total === node.vcpus && p.provider.generation > changed.body.resource_provider_generation ? p : undefined;
    }, 30_000);
    expect(repaired.inventories.VCPU).toMatchObject({ total: node.vcpus, max_unit: node.vcpus });

    expect((await placement!.api('DELETE', `/resource_providers/${node.uuid}`)).status).toBe(204);
    const again = await eventually(() => providerOf(node.uuid), 30_000);
    expect(again.provider).toMatchObject({ uuid: node.uuid, name: node.hypervisor_hostname });
    expect(again.inventories).toEqual(before.inventories);
  });

  it('terminating an instance deletes the allocations the scheduler made for it', async () => {
    const node = await eventually(computeNode, 10_000);
    await eventually(() => providerOf(node.uuid), 30_000);
    const boot = await nova.cmd('boot', { name: 'placed', flavor: 'm1.placement', image_ref: imageRef });
    await nova.cmd('wait', { uuid: boot.uuid, vm_state: 'active', task_state: null, power_state: 1, timeout: 60 }, 70_000);
    // what the scheduler's claim writes (placement 1.28, a new consumer)
    const claim = await placement!.api('PUT', `/allocations/${boot.uuid}`, {
      version: '1.28',
      body: {
        allocations: { [node.uuid]: { resources: { VCPU: 1, MEMORY_MB: 128, ...(node.local_gb > 0 ? { DISK_GB: 1 } : {}) } } },
        project_id: randomUUID(),
        user_id: randomUUID(),
        consumer_generation: null,
      },
    });
    expect(claim.status).toBe(204);
    const usages = await placement!.api('GET', `/resource_providers/${node.uuid}/usages`);
    expect(usages.body.usages).toMatchObject({ VCPU: 1, MEMORY_MB: 128 });

    await nova.cmd('terminate', { uuid: boot.uuid });
    await nova.cmd('wait', { uuid: boot.uuid, deleted: true, timeout: 60 }, 70_000);
    const gone = await eventually(async () => {
      const a = await placement!.api('GET', `/allocations/${boot.uuid}`);
      return Object.keys(a.body.allocations).length === 0 ? a : undefined;
    }, 30_000);
    expect(gone.body.allocations).toEqual({});
    const after = await placement!.api('GET', `/resource_providers/${node.uuid}/usages`);
    expect(after.body.usages).toMatchObject({ VCPU: 0, MEMORY_MB: 0 });
  });
});
