/**
 * /1.0/networks as LXD 5.0 speaks it, on top of the network use cases (NetworksService): request
 * bodies parsed, ETags and If-Match, lifecycle events. No network logic lives here.
 */
import { Injectable } from '@nestjs/common';
import { NetworksService } from '@lodge/network';
import { EventsService } from '../events/events.service';
import { checkIfMatch } from '../http/etag';
import type { RequestAuth } from '../trust/trust.service';
import { parseNetworkPatch, parseNetworkPut, parseNetworkRename, parseNetworksPost } from './network-request';
import { ApiNetwork, networkEtag, networkEtagFields, networkUrl, toApiNetwork } from './network-view';

@Injectable()
export class NetworksApiService {
  constructor(
    private readonly networks: NetworksService,
    private readonly events: EventsService,
  ) {}

  async list(): Promise<ApiNetwork[]> {
    return (await this.networks.list()).map(toApiNetwork);
  }

  async urls(): Promise<string[]> {
    return (await this.networks.names()).map(networkUrl);
  }

  async get(name: string): Promise<{ network: ApiNetwork; etag: string }> {
    const n = await this.networks.get(name);
    return { network: toApiNetwork(n), etag: networkEtag(n) };
  }

  async create(body: unknown, auth?: RequestAuth): Promise<string> {
    const req = parseNetworksPost(body);
    await this.networks.create(req);
    this.lifecycle('network-created', req.name, auth);
    return networkUrl(req.name);
  }

  /** PUT replaces config and description; PATCH merges config keys over the current ones. */
  async update(name: string, body: unknown, ifMatch: string | undefined, mode: 'put' | 'patch', auth?: RequestAuth): Promise<void> {
    const current = await this.networks.get(name);
    checkIfMatch(ifMatch, networkEtagFields(current));
    const next = mode === 'put' ? parseNetworkPut(body) : parseNetworkPatch(body, { config: current.config, description: current.description });
    await this.networks.update(name, next);
    this.lifecycle('network-updated', name, auth);
  }

  async rename(name: string, body: unknown, auth?: RequestAuth): Promise<string> {
    const newName = parseNetworkRename(body);
    await this.networks.rename(name, newName);
    this.lifecycle('network-renamed', newName, auth, { old_name: name });
    return networkUrl(newName);
  }

  async delete(name: string, auth?: RequestAuth): Promise<void> {
    await this.networks.delete(name);
    this.lifecycle('network-deleted', name, auth);
  }

  state(name: string) {
    return this.networks.state(name);
  }

  leases(name: string) {
    return this.networks.leases(name);
  }

  private lifecycle(action: string, name: string, auth?: RequestAuth, context?: Record<string, unknown>): void {
    this.events.emitLifecycle({
      action,
      source: networkUrl(name),
      ...(context ? { context } : {}),
      requestor: auth ? { username: auth.fingerprint ?? (auth.protocol === 'unix' ? 'root' : ''), protocol: auth.protocol, address: auth.address } : null,
    });
  }
}
