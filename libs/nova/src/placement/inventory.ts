/**
 * What a compute host tells placement about itself, as pure data: the inventory records nova's
 * drivers build from the ComputeNode (libvirt's update_provider_tree), and what a placement
 * answer means for the report (placement's error codes, nova's report client's reactions).
 */

/** One inventory record, exactly the fields nova sends for a standard resource class. */
export interface InventoryRecord {
  total: number;
  reserved: number;
  min_unit: number;
  max_unit: number;
  step_size: number;
  allocation_ratio: number;
}

export type Inventories = Record<string, InventoryRecord>;

/** nova's reserved_host_* options. nova's defaults: 512 MB of memory, no CPUs, no disk. */
export interface ReservedHostResources {
  memoryMb: number;
  vcpus: number;
  diskMb: number;
}

export const NOVA_DEFAULT_RESERVED: ReservedHostResources = { memoryMb: 512, vcpus: 0, diskMb: 0 };

/** The capacity half of a ComputeNode (its totals and allocation ratios). */
export interface NodeCapacity {
  vcpus: number;
  memoryMb: number;
  localGb: number;
  cpuAllocationRatio: number;
  ramAllocationRatio: number;
  diskAllocationRatio: number;
}

/**
 * VCPU, MEMORY_MB and DISK_GB for the node, as nova's libvirt driver reports them: the whole
 * total allocatable in one go (max_unit = total), steps of one, the node's allocation ratios.
 * A class with total 0 is left out because placement rejects it. Reserved disk is given in MB
 * and rounded up to whole GB (nova's convert_mb_to_ceil_gb); a reservation is never more than
 * the total (placement 1.26 allows reserved == total, not more).
 */
export function buildInventories(node: NodeCapacity, reserved: ReservedHostResources = NOVA_DEFAULT_RESERVED): Inventories {
  const out: Inventories = {};
  const add = (rc: string, total: number, reservedUnits: number, ratio: number) => {
    const whole = Math.floor(total);
    if (!(whole > 0)) return;
    out[rc] = {
      total: whole,
      reserved: Math.min(Math.max(0, Math.ceil(reservedUnits)), whole),
      min_unit: 1,
      max_unit: whole,
      step_size: 1,
      allocation_ratio: ratio,
    };
  };
  add('VCPU', node.vcpus, reserved.vcpus, node.cpuAllocationRatio);
  add('MEMORY_MB', node.memoryMb, reserved.memoryMb, node.ramAllocationRatio);
  add('DISK_GB', node.localGb, Math.ceil(reserved.diskMb / 1024), node.diskAllocationRatio);
  return out;
}

const INVENTORY_FIELDS: Array<keyof InventoryRecord> = ['total', 'reserved', 'min_unit', 'max_unit', 'step_size', 'allocation_ratio'];

/**
 * Whether placement already holds exactly this inventory (nova's has_inventory_changed): same
 * classes, same fields. Ratios are floats in placement's database, so they compare loosely.
 */
export function sameInventories(current: Record<string, Partial<InventoryRecord>>, wanted: Inventories): boolean {
  const a = Object.keys(current).sort();
  const b = Object.keys(wanted).sort();
  if (a.length !== b.length || a.some((rc, i) => rc !== b[i])) return false;
  return b.every((rc) =>
    INVENTORY_FIELDS.every((f) => {
      const have = Number(current[rc][f]);
      const want = wanted[rc][f];
      return f === 'allocation_ratio' ? Math.abs(have - want) < 1e-6 : have === want;
    }),
  );
}

/** placement's error body (microversion >= 1.23 adds `code`). */
interface PlacementErrorBody {
  errors?: Array<{ status?: number; code?: string; detail?: string; title?: string }>;
}

function firstError(body: unknown): { code?: string; detail: string } {
  const e = (body as PlacementErrorBody | null)?.errors?.[0];
  return { code: e?.code, detail: e?.detail ?? e?.title ?? (typeof body === 'string' ? body : JSON.stringify(body)) };
}

/** What to do after PUT /resource_providers/{uuid}/inventories answered. */
export type InventoryPutOutcome =
  | { kind: 'done'; generation: number }
  /** someone else changed the provider since it was read: read it again and redo the PUT */
  | { kind: 'stale-generation' }
  /** the provider was deleted meanwhile: create it again and redo the PUT */
  | { kind: 'provider-gone' }
  /** a class still has allocations and cannot shrink or go: retrying does not help */
  | { kind: 'in-use'; detail: string }
  | { kind: 'failed'; detail: string };

/**
 * nova's set_inventory_for_provider: 200 is done; 409 placement.inventory.inuse is
 * InventoryInUse; every other 409 is a generation conflict (ResourceProviderUpdateConflict,
 * which the resource tracker answers by refreshing the provider and trying again).
 */
export function inventoryPutOutcome(status: number, body: unknown): InventoryPutOutcome {
  if (status === 200) {
    const generation = (body as { resource_provider_generation?: unknown } | null)?.resource_provider_generation;
    return { kind: 'done', generation: typeof generation === 'number' ? generation : NaN };
  }
  const err = firstError(body);
  if (status === 404) return { kind: 'provider-gone' };
  if (status === 409) return err.code === 'placement.inventory.inuse' ? { kind: 'in-use', detail: err.detail } : { kind: 'stale-generation' };
  return { kind: 'failed', detail: `${status}: ${err.detail}` };
}

/** What to do after POST /resource_providers answered. */
export type ProviderCreateOutcome =
  | { kind: 'created' }
  /** another writer created this uuid first: use that one */
  | { kind: 'exists' }
  /** a different provider already has this name (e.g. an old ComputeNode of the same host) */
  | { kind: 'name-taken'; detail: string }
  | { kind: 'failed'; detail: string };

/** nova's _create_resource_provider: a 409 that is not about the name means the uuid exists. */
export function providerCreateOutcome(status: number, body: unknown): ProviderCreateOutcome {
  if (status === 200 || status === 201) return { kind: 'created' };
  const err = firstError(body);
  if (status === 409) {
    const nameConflict = err.code === 'placement.duplicate_name' || err.detail.includes('Conflicting resource provider name:');
    return nameConflict ? { kind: 'name-taken', detail: err.detail } : { kind: 'exists' };
  }
  return { kind: 'failed', detail: `${status}: ${err.detail}` };
}
