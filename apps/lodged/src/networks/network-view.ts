/** How a network leaves the API (api.Network, api.NetworkState, api.NetworkLease of LXD 5.0) and its ETag. */
import { etagHash, sortedKeys } from '@lodge/api-types';
import type { NetworkInfo } from '@lodge/network';
import type { NetworkWritable } from './network-request';

/** api.Network: the writable fields first (Go's embedded NetworkPut), then the rest. */
export interface ApiNetwork extends NetworkWritable {
  name: string;
  type: string;
  used_by: string[];
  managed: boolean;
  /** "Created" for a managed network that is set up, "Errored" when it could not be; "" for host interfaces */
  status: string;
  locations: string[] | null;
}

export function networkUrl(name: string): string {
  return `/1.0/networks/${encodeURIComponent(name)}`;
}

export function toApiNetwork(n: NetworkInfo): ApiNetwork {
  return {
    config: sortedKeys(n.config),
    description: n.description,
    name: n.name,
    type: n.type,
    used_by: [...n.usedBy],
    managed: n.managed,
    status: n.status,
    locations: n.managed ? ['none'] : null,
  };
}

/** What LXD hashes for a network's ETag: [name, managed, type, description, config]. */
export function networkEtagFields(n: Pick<NetworkInfo, 'name' | 'managed' | 'type' | 'description' | 'config'>): unknown {
  return [n.name, n.managed, n.type, n.description, sortedKeys(n.config)];
}

export function networkEtag(n: Pick<NetworkInfo, 'name' | 'managed' | 'type' | 'description' | 'config'>): string {
  return etagHash(networkEtagFields(n));
}
