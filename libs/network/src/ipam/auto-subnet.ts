/**
 * `ipv4.address=auto`: a free subnet from a configured private pool, judged ONLY by what this
 * host itself has (its interface addresses and routes, passed in) and by Lodge's other networks.
 * Nothing is ever sent to a candidate address: LXD pings its random 10.x.y.0/24 candidates,
 * Lodge does not contact any address to decide.
 */
import { InvalidArgumentError } from '@lodge/common';
import { ADDRESS_BITS } from './ip-address';
import { InterfaceCidr, parseSubnet, Subnet, subnetsOverlap } from './subnet';

export interface AutoSubnetOptions {
  /** Private blocks to carve subnets from, e.g. ["10.0.0.0/8"] (LXD's own choice space). */
  pool: string[];
  /** Prefix of the chosen subnet (default 24). */
  prefix?: number;
  /** The host's interface addresses and routes in CIDR form. Default routes (/0) are ignored. */
  hostSubnets: string[];
  /** Subnets of Lodge's own networks (also those whose bridge is down). */
  taken?: string[];
  /** Where to start in the candidate list, in [0, 1): spreads hosts over the pool; default 0. */
  random?: () => number;
}

/** The chosen subnet with its first host address as the gateway (`10.x.y.1/24`). */
export function chooseAutoSubnet(o: AutoSubnetOptions): InterfaceCidr {
  const prefix = o.prefix ?? 24;
  const blocks = o.pool.map((p) => parseSubnet(p, 4));
  const busy: Subnet[] = [...o.hostSubnets, ...(o.taken ?? [])]
    .map((t) => parseSubnet(t.includes('/') ? t : `${t}/${t.includes(':') ? 128 : 32}`))
    .filter((s) => s.prefix > 0);
  const candidates: Array<{ block: Subnet; count: bigint }> = [];
  let total = 0n;
  for (const block of blocks) {
    if (prefix < block.prefix || prefix > ADDRESS_BITS[block.family] - 2) {
      throw new InvalidArgumentError(`Cannot carve /${prefix} subnets from the pool block /${block.prefix}`);
    }
    const count = 1n << BigInt(prefix - block.prefix);
    candidates.push({ block, count });
    total += count;
  }
  if (total === 0n) throw new InvalidArgumentError('No private address pool is configured for automatic subnets');
  const start = BigInt(Math.floor((o.random?.() ?? 0) * Number(total))) % total;
  const step = 1n << BigInt(32 - prefix);
  for (let i = 0n; i < total; i++) {
    const subnet = nthCandidate(candidates, (start + i) % total, step, prefix);
    if (!busy.some((b) => subnetsOverlap(b, subnet))) {
      return { address: { family: 4, value: subnet.network + 1n }, subnet };
    }
  }
  throw new InvalidArgumentError('Failed to automatically find an unused IPv4 subnet, manual configuration required');
}

/** The k-th /prefix subnet across the pool blocks, in order. */
function nthCandidate(candidates: Array<{ block: Subnet; count: bigint }>, k: bigint, step: bigint, prefix: number): Subnet {
  for (const c of candidates) {
    if (k < c.count) return { family: 4, network: c.block.network + k * step, prefix };
    k -= c.count;
  }
  throw new Error('candidate index out of range');
}
