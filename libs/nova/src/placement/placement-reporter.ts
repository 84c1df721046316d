import { Logger } from '@nestjs/common';
import { buildInventories, inventoryPutOutcome, NodeCapacity, NOVA_DEFAULT_RESERVED, providerCreateOutcome, ReservedHostResources, sameInventories } from './inventory';
import { PlacementClient, PlacementOptions, PlacementRequestError } from './placement.client';

export const NOVA_PLACEMENT = Symbol('NOVA_PLACEMENT');

/** The resource provider of a ComputeNode: nova uses the node's uuid and hypervisor_hostname. */
export interface ComputeNodeProvider extends NodeCapacity {
  uuid: string;
  name: string;
}

/** Tries per report before a run of generation conflicts is left to the next report. */
const MAX_INVENTORY_ATTEMPTS = 4;

/**
 * The placement half of nova-compute's resource tracker: makes sure the ComputeNode has a
 * resource provider and that its inventory says what the node has, and removes an instance's
 * allocations when it is deleted or its build fails.
 *
 * Unlike nova's report client it keeps no provider cache: every report reads the provider's
 * generation and inventory afresh (one GET when nothing changed), so a provider deleted or
 * edited behind the host's back is put right at the next report.
 */
export class PlacementReporter {
  private readonly logger = new Logger('Placement');
  private readonly reserved: ReservedHostResources;

  constructor(
    private readonly client: PlacementClient,
    reserved: Partial<ReservedHostResources> = {},
  ) {
    this.reserved = { ...NOVA_DEFAULT_RESERVED, ...reserved };
  }

  static fromOptions(o: PlacementOptions): PlacementReporter {
    return new PlacementReporter(PlacementClient.fromOptions(o), o.reserved);
  }

  /**
   * Ensures the provider and puts the inventory if it differs. Returns whether the inventory was
   * written. Throws when placement cannot be reached or refuses (the caller logs and tries again
   * at the next report).
   */
  async report(node: ComputeNodeProvider): Promise<boolean> {
    const wanted = buildInventories(node, this.reserved);
    for (let attempt = 1; attempt <= MAX_INVENTORY_ATTEMPTS; attempt++) {
      const current = (await this.client.getInventories(node.uuid)) ?? (await this.createProvider(node));
      if (sameInventories(current.inventories, wanted)) return false;
      const res = await this.client.putInventories(node.uuid, current.generation, wanted);
      const outcome = inventoryPutOutcome(res.status, res.body);
      switch (outcome.kind) {
        case 'done':
          this.logger.log(`inventory of ${node.name} (${node.uuid}) is ${describe(wanted)}`);
          return true;
        case 'stale-generation':
        case 'provider-gone':
          // nova's resource tracker: refresh the provider and redrive the update
          continue;
        case 'in-use':
          throw new PlacementRequestError(res.status, `placement keeps the inventory of ${node.name}: ${outcome.detail}`);
        case 'failed':
          throw new PlacementRequestError(res.status, `placement refused the inventory of ${node.name}: ${outcome.detail}`);
      }
    }
    throw new Error(`inventory of ${node.name} not written: the provider kept changing (${MAX_INVENTORY_ATTEMPTS} generation conflicts)`);
  }

  /** nova-compute's delete_allocation_for_instance(force=True); false when there were none. */
  deleteAllocations(instanceUuid: string): Promise<boolean> {
    return this.client.deleteAllocations(instanceUuid);
  }

  private async createProvider(node: ComputeNodeProvider): Promise<{ generation: number; inventories: Record<string, Record<string, unknown>> }> {
    const res = await this.client.createProvider(node.uuid, node.name);
    const outcome = providerCreateOutcome(res.status, res.body);
    if (outcome.kind === 'name-taken') {
      throw new PlacementRequestError(res.status, `another resource provider is named ${node.name}; the provider of compute node ${node.uuid} cannot be made: ${outcome.detail}`);
    }
    if (outcome.kind === 'failed') throw new PlacementRequestError(res.status, `placement refused the provider of ${node.name}: ${outcome.detail}`);
    if (outcome.kind === 'created') this.logger.log(`created resource provider ${node.name} (${node.uuid})`);
    // created just now, or by another writer a moment ago: read what it holds
    const current = await this.client.getInventories(node.uuid);
    if (!current) throw new PlacementRequestError(404, `resource provider ${node.uuid} vanished right after it was made`);
    return current;
  }
}

function describe(inv: ReturnType<typeof buildInventories>): string {
  return Object.entries(inv)
    .map(([rc, r]) => `${rc} ${r.total}${r.reserved ? ` (${r.reserved} reserved)` : ''} x${r.allocation_ratio}`)
    .join(', ');
}
