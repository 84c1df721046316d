/**
 * Applies and removes the per-network nftables tables (see network-ruleset.ts) and finds Lodge's
 * tables in the kernel, so the daemon can drop those of networks it no longer has.
 */
import { nftApply, nftJson } from './nft-command';
import { isLodgeTable, NetworkRulesSpec, renderNetworkRules, renderTableRemoval } from './network-ruleset';

export class NetworkFirewall {
  /** Creates or replaces the network's table, atomically. */
  async apply(spec: NetworkRulesSpec): Promise<void> {
    await nftApply(renderNetworkRules(spec));
  }

  /** Drops the table; no error when it is not there. */
  async remove(table: string): Promise<void> {
    await nftApply(renderTableRemoval(table));
  }

  /** Names of the inet tables Lodge made (`lodge_*`). */
  async listTables(): Promise<string[]> {
    const objs = await nftJson(['list', 'tables', 'inet']);
    return objs
      .map((o) => (o.table as { name?: string } | undefined)?.name)
      .filter((n): n is string => typeof n === 'string' && isLodgeTable(n));
  }

  /** The table's objects as `nft -j list table` gives them (chains, rules); null when absent. */
  async describe(table: string): Promise<Array<Record<string, unknown>> | null> {
    if (!(await this.listTables()).includes(table)) return null;
    return nftJson(['list', 'table', 'inet', table]);
  }
}
