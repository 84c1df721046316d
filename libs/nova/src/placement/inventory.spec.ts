import { buildInventories, inventoryPutOutcome, NodeCapacity, providerCreateOutcome, sameInventories } from './inventory';

const node: NodeCapacity = { vcpus: 8, memoryMb: 16000, localGb: 200, cpuAllocationRatio: 16, ramAllocationRatio: 1.5, diskAllocationRatio: 1 };

describe('buildInventories', () => {
  it('reports VCPU, MEMORY_MB and DISK_GB as nova does, with nova reserving 512 MB by default', () => {
    expect(buildInventories(node)).toEqual({
      VCPU: { total: 8, reserved: 0, min_unit: 1, max_unit: 8, step_size: 1, allocation_ratio: 16 },
      MEMORY_MB: { total: 16000, reserved: 512, min_unit: 1, max_unit: 16000, step_size: 1, allocation_ratio: 1.5 },
      DISK_GB: { total: 200, reserved: 0, min_unit: 1, max_unit: 200, step_size: 1, allocation_ratio: 1 },
    });
  });

  it('rounds reserved disk up to whole GB and never reserves more than the total', () => {
    const inv = buildInventories({ ...node, memoryMb: 300 }, { memoryMb: 512, vcpus: 2, diskMb: 1025 });
    expect(inv.DISK_GB.reserved).toBe(2);
    expect(inv.VCPU.reserved).toBe(2);
    expect(inv.MEMORY_MB).toMatchObject({ total: 300, reserved: 300, max_unit: 300 });
  });

  it('leaves out a class with nothing in it (placement refuses total 0)', () => {
    expect(Object.keys(buildInventories({ ...node, localGb: 0 }))).toEqual(['VCPU', 'MEMORY_MB']);
  });
});

describe('sameInventories', () => {
  const wanted = buildInventories(node);

  it('is true for what placement echoes back, with ratios as stored floats', () => {
    const echoed = JSON.parse(JSON.stringify(wanted));
    echoed.MEMORY_MB.allocation_ratio = 1.5000000001;
    expect(sameInventories(echoed, wanted)).toBe(true);
  });

  it('is false when a field, a class or the whole inventory differs', () => {
    expect(sameInventories({}, wanted)).toBe(false);
    expect(sameInventories({ ...wanted, VCPU: { ...wanted.VCPU, total: 4 } }, wanted)).toBe(false);
    expect(sameInventories({ ...wanted, VCPU: { ...wanted.VCPU, allocation_ratio: 4 } }, wanted)).toBe(false);
    const { DISK_GB: _disk, ...withoutDisk } = wanted;
    expect(sameInventories(withoutDisk, wanted)).toBe(false);
    expect(sameInventories({ ...wanted, CUSTOM_X: wanted.VCPU }, wanted)).toBe(false);
  });
});

describe('inventoryPutOutcome (what a generation conflict means)', () => {
  const conflict = (code: string) => ({ errors: [{ status: 409, title: 'Conflict', code, detail: 'resource provider generation conflict' }] });

  it('200 is done with the new generation', () => {
    expect(inventoryPutOutcome(200, { resource_provider_generation: 7, inventories: {} })).toEqual({ kind: 'done', generation: 7 });
  });

  it('a 409 concurrent update means: read the provider again and retry', () => {
    expect(inventoryPutOutcome(409, conflict('placement.concurrent_update'))).toEqual({ kind: 'stale-generation' });
    // older placements send no code: every 409 but inventory-in-use is a generation conflict (nova)
    expect(inventoryPutOutcome(409, { errors: [{ status: 409, detail: 'x' }] })).toEqual({ kind: 'stale-generation' });
  });

  it('a 409 inventory-in-use is not retried', () => {
    expect(inventoryPutOutcome(409, conflict('placement.inventory.inuse'))).toMatchObject({ kind: 'in-use' });
  });

  it('404 means the provider went away: make it again', () => {
    expect(inventoryPutOutcome(404, { errors: [{ status: 404, detail: 'No resource provider' }] })).toEqual({ kind: 'provider-gone' });
  });

  it('anything else fails with placement detail', () => {
    expect(inventoryPutOutcome(400, { errors: [{ status: 400, detail: 'JSON does not validate' }] })).toEqual({ kind: 'failed', detail: '400: JSON does not validate' });
    expect(inventoryPutOutcome(503, 'Service Unavailable')).toEqual({ kind: 'failed', detail: '503: Service Unavailable' });
  });
});

describe('providerCreateOutcome', () => {
  it('tells a uuid that exists (use it) from a name another provider has (fail)', () => {
    expect(providerCreateOutcome(200, { uuid: 'u', generation: 0 })).toEqual({ kind: 'created' });
    expect(providerCreateOutcome(409, { errors: [{ status: 409, code: 'placement.duplicate_name', detail: 'Conflicting resource provider name: h already exists.' }] })).toMatchObject({
      kind: 'name-taken',
    });
    expect(providerCreateOutcome(409, { errors: [{ status: 409, detail: 'Conflicting resource provider name: h already exists.' }] })).toMatchObject({ kind: 'name-taken' });
    expect(providerCreateOutcome(409, { errors: [{ status: 409, code: 'placement.undefined_code', detail: 'Conflicting resource provider uuid: u already exists.' }] })).toEqual({
      kind: 'exists',
    });
    expect(providerCreateOutcome(500, null)).toMatchObject({ kind: 'failed' });
  });
});
