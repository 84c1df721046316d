/**
 * The network use cases behind /1.0/networks: managed bridges (recorded in PostgreSQL, made on the
 * host by the bridge driver) and the host's other interfaces, listed as unmanaged. One place for
 * create, update, rename, delete, state, leases, and bringing every network back at daemon start.
 *
 * Every change to one network is serialised (a per-name lock); a create that fails half-way
 * removes what it made and its row, so nothing is left half-made.
 */
import { readFile } from 'node:fs/promises';
import { AlreadyExistsError, InUseError, InvalidArgumentError, KeyedLock, NotFoundError, NotSupportedError, Reverter } from '@lodge/common';
import { InstancesRepository, NetworkAllocationsRepository, NetworkEntity, NetworksRepository, ProfilesRepository } from '@lodge/state';
import { BridgeDriver } from './bridge-driver';
import { HostLink, HostLinks } from './host-links';
import type { InterfaceCounters } from './interface-counters';
import { validateNetworkConfig, validateNetworkName } from './network-keys';
import { NetworkReservations } from './network-reservations';
import { networkUsers } from './network-users';

/** A network as the API shows it, managed or not. */
export interface NetworkInfo {
  name: string;
  type: string;
  managed: boolean;
  /** "Created", "Pending", "Errored" for a managed network; "" for a host interface */
  status: string;
  description: string;
  config: Record<string, string>;
  /** API URLs of the profiles and instances using it */
  usedBy: string[];
}

export interface NetworkAddressInfo {
  family: 'inet' | 'inet6';
  address: string;
  netmask: string;
  scope: 'global' | 'link' | 'local';
}

/** api.NetworkState */
export interface NetworkStateInfo {
  addresses: NetworkAddressInfo[];
  counters: InterfaceCounters;
  hwaddr: string;
  mtu: number;
  state: 'up' | 'down';
  type: 'broadcast' | 'loopback' | 'point-to-point';
  bond: null;
  bridge: { id: string; stp: boolean; forward_delay: number; vlan_default: number; vlan_filtering: boolean; upper_devices: string[] } | null;
  vlan: null;
}

/** api.NetworkLease */
export interface NetworkLeaseInfo {
  hostname: string;
  hwaddr: string;
  address: string;
  /** "gateway" (the bridge's own address), "static" (ipv4.address of the NIC) or "dynamic" */
  type: 'gateway' | 'static' | 'dynamic';
  location: string;
}

export interface NewNetworkRequest {
  name: string;
  type: string;
  description: string;
  config: Record<string, string>;
}

export const NETWORK_TYPES = ['bridge'] as const;

export class NetworksService {
  private readonly lock = new KeyedLock();

  constructor(
    private readonly networks: NetworksRepository,
    private readonly allocations: NetworkAllocationsRepository,
    private readonly instances: InstancesRepository,
    private readonly profiles: ProfilesRepository,
    private readonly links: HostLinks,
    private readonly bridge: BridgeDriver,
    private readonly reservations: NetworkReservations,
  ) {}

  /** Managed networks, then the host's other interfaces (not the veths and macvlans of instances). */
  async list(): Promise<NetworkInfo[]> {
    const [rows, links, users] = await Promise.all([this.networks.list(), this.links.listLinks(), this.userIndex()]);
    const managed = new Set(rows.map((r) => r.name));
    return [
      ...rows.map((r) => this.managedInfo(r, users(r.name))),
      ...links.filter((l) => !managed.has(l.name) && isListedHostLink(l)).map((l) => unmanagedInfo(l, users(l.name))),
    ].sort((a, b) => a.name.localeCompare(b.name));
  }

  async names(): Promise<string[]> {
    return (await this.list()).map((n) => n.name);
  }

  async get(name: string): Promise<NetworkInfo> {
    const row = await this.networks.find(name);
    const users = await this.userIndex();
    if (row) return this.managedInfo(row, users(name));
    const link = (await this.links.listLinks()).find((l) => l.name === name);
    if (!link) throw new NotFoundError('Network not found');
    return unmanagedInfo(link, users(name));
  }

  /** The managed network's row; NotFoundError for a host interface or nothing at all. */
  async getManaged(name: string): Promise<NetworkEntity> {
    return this.networks.get(name);
  }

  /** Creates a managed network: row (Pending), then the bridge and its services, then Created. */
  async create(req: NewNetworkRequest): Promise<NetworkInfo> {
    validateNetworkName(req.name);
    if (!(NETWORK_TYPES as readonly string[]).includes(req.type)) {
      throw new InvalidArgumentError(`Network type "${req.type}" is not supported (supported: ${NETWORK_TYPES.join(', ')})`);
    }
    validateNetworkConfig(req.config);
    return this.lock.run(req.name, async () => {
      if (await this.networks.find(req.name)) throw new AlreadyExistsError('The network already exists');
      if ((await this.links.listLinks()).some((l) => l.name === req.name)) {
        throw new AlreadyExistsError(`The network already exists: the host has an interface named "${req.name}"`);
      }
      const others = await this.networks.list();
      const config = await this.bridge.resolveConfig(req.name, dropEmpty(req.config), others, { creating: true });
      const r = new Reverter();
      try {
        let row = await this.networks.create({ name: req.name, type: 'bridge', description: req.description, config, status: 'Pending' });
        r.push('network row', () => this.networks.delete(req.name));
        r.push('host objects', () => this.bridge.remove(req.name));
        await this.bridge.prepareDir();
        await this.bridge.apply({ name: row.name, config: row.config }, []);
        row = await this.networks.setStatus(req.name, 'Created');
        r.commit();
        return this.managedInfo(row, []);
      } finally {
        await r.revert();
      }
    });
  }

  /**
   * Replaces a managed network's config and description (PUT; PATCH merges first). The host is
   * changed first and the row after; when the host refuses, what was applied is put back.
   */
  async update(name: string, next: { config: Record<string, string>; description: string }): Promise<NetworkInfo> {
    const config = dropEmpty(next.config);
    validateNetworkConfig(config);
    return this.lock.run(name, async () => {
      const row = await this.managedRow(name, 'modified');
      const others = await this.networks.list();
      const resolved = await this.bridge.resolveConfig(name, config, others, { creating: false });
      await this.checkAddressesStillFit(row, resolved);
      const reservations = await this.reservations.of(row.id);
      try {
        await this.bridge.apply({ name, config: resolved }, reservations, { restartDhcp: true });
      } catch (err) {
        await this.bridge.apply({ name, config: row.config }, reservations, { restartDhcp: true }).catch(() => undefined);
        throw err;
      }
      const updated = await this.networks.update(name, { config: resolved, description: next.description, status: 'Created' });
      return this.managedInfo(updated, (await this.userIndex())(name));
    });
  }

  /** Renames an unused managed network (its bridge is made again under the new name). */
  async rename(name: string, newName: string): Promise<NetworkInfo> {
    validateNetworkName(newName);
    return this.lock.runAll([name, newName], async () => {
      const row = await this.managedRow(name, 'renamed');
      if ((await this.userIndex())(name).length > 0) throw new InvalidArgumentError('Cannot rename network when in use');
      if (newName === name) return this.managedInfo(row, []);
      if ((await this.links.listLinks()).some((l) => l.name === newName)) throw new AlreadyExistsError(`Network "${newName}" already exists`);
      const r = new Reverter();
      try {
        const renamed = await this.networks.rename(name, newName).catch((err) => {
          if (err instanceof AlreadyExistsError) throw new AlreadyExistsError(`Network "${newName}" already exists`);
          throw err;
        });
        r.push('row rename', () => this.networks.rename(newName, name).then(() => undefined));
        await this.bridge.remove(name);
        r.push('old bridge', () => this.bridge.apply({ name, config: row.config }, []));
        r.push('new bridge', () => this.bridge.remove(newName));
        await this.bridge.apply({ name: newName, config: renamed.config }, await this.reservations.of(renamed.id));
        r.commit();
        return this.managedInfo(renamed, []);
      } finally {
        await r.revert();
      }
    });
  }

  /** Deletes an unused managed network and everything it made on the host. */
  async delete(name: string): Promise<void> {
    await this.lock.run(name, async () => {
      const row = await this.managedRow(name, 'deleted');
      if ((await this.userIndex())(name).length > 0) throw new InUseError('The network is currently in use');
      // nothing uses it: what is still allocated belongs to NICs removed from stopped instances
      for (const a of await this.allocations.listForNetwork(row.id)) await this.allocations.release(a.instanceId, a.device);
      // host objects first: a daemon killed in between still has the row, and makes them again at start
      await this.bridge.remove(name);
      await this.networks.delete(name);
    });
  }

  /** The interface as the kernel has it (any host interface, managed or not). */
  async state(name: string): Promise<NetworkStateInfo> {
    const links = await this.links.listLinks();
    const link = links.find((l) => l.name === name);
    if (!link) throw new NotFoundError('Network not found');
    const addresses = (await this.links.listAddresses(name)).map(
      (a): NetworkAddressInfo => ({
        family: a.family === 4 ? 'inet' : 'inet6',
        address: a.address,
        netmask: String(a.prefix),
        scope: a.scope === 'host' ? 'local' : a.scope === 'link' ? 'link' : 'global',
      }),
    );
    const s = link.stats;
    return {
      addresses,
      counters: {
        bytes_received: s.rxBytes,
        bytes_sent: s.txBytes,
        packets_received: s.rxPackets,
        packets_sent: s.txPackets,
        errors_received: s.rxErrors,
        errors_sent: s.txErrors,
        packets_dropped_outbound: s.txDropped,
        packets_dropped_inbound: s.rxDropped,
      },
      hwaddr: link.hwaddr,
      mtu: link.mtu,
      state: link.up ? 'up' : 'down',
      type: link.kind === 'loopback' ? 'loopback' : 'broadcast',
      bond: null,
      bridge: link.kind === 'bridge' ? await bridgeState(name, links) : null,
      vlan: null,
    };
  }

  /**
   * DHCP leases of a managed network as `lxc network list-leases` shows them: the bridge's own
   * addresses (gateway), every NIC's allocation (static or picked), and what dnsmasq handed out
   * to anything else.
   */
  async leases(name: string): Promise<NetworkLeaseInfo[]> {
    const row = await this.networks.get(name);
    const [rows, dhcp, links, addresses] = await Promise.all([
      this.allocations.leases(row.id),
      this.bridge.leases(name).catch(() => []),
      this.links.listLinks(),
      this.links.listAddresses(name).catch(() => []),
    ]);
    const hwaddr = links.find((l) => l.name === name)?.hwaddr ?? '';
    const out: NetworkLeaseInfo[] = addresses
      .filter((a) => a.scope === 'global')
      .map((a) => ({ hostname: `${name}.gateway`, hwaddr, address: a.address, type: 'gateway' as const, location: 'none' }));
    const known = new Set<string>();
    for (const a of rows) {
      if (!a.ipv4Address) continue;
      known.add(a.ipv4Address);
      out.push({ hostname: a.instance, hwaddr: a.hwaddr, address: a.ipv4Address, type: a.static ? 'static' : 'dynamic', location: 'none' });
    }
    for (const l of dhcp) {
      if (known.has(l.address)) continue;
      out.push({ hostname: l.hostname ?? '', hwaddr: l.hwaddr, address: l.address, type: 'dynamic', location: 'none' });
    }
    return out;
  }

  /**
   * At daemon start: every managed network made again where it is missing (after a reboot) or
   * re-adopted where it runs (dnsmasq keeps serving across daemon restarts); Lodge's firewall
   * tables of networks that no longer exist are dropped. A network that cannot come up is marked
   * Errored and the others still come up.
   */
  async restoreAll(): Promise<{ restored: string[]; failed: Array<{ name: string; error: string }> }> {
    const restored: string[] = [];
    const failed: Array<{ name: string; error: string }> = [];
    const rows = await this.networks.list();
    await this.bridge.prepareDir();
    for (const row of rows) {
      try {
        await this.bridge.apply({ name: row.name, config: row.config }, await this.reservations.of(row.id));
        if (row.status !== 'Created') await this.networks.setStatus(row.name, 'Created');
        restored.push(row.name);
      } catch (err) {
        failed.push({ name: row.name, error: err instanceof Error ? err.message : String(err) });
        await this.networks.setStatus(row.name, 'Errored').catch(() => undefined);
      }
    }
    return { restored, failed };
  }

  private async managedRow(name: string, action: 'modified' | 'renamed' | 'deleted'): Promise<NetworkEntity> {
    const row = await this.networks.find(name);
    if (row) return row;
    if ((await this.links.listLinks()).some((l) => l.name === name)) {
      throw new NotSupportedError(`Only managed networks can be ${action}`);
    }
    throw new NotFoundError('Network not found');
  }

  /** A subnet change must keep every address already handed out inside it. */
  private async checkAddressesStillFit(row: NetworkEntity, next: Record<string, string>): Promise<void> {
    if ((row.config['ipv4.address'] ?? '') === (next['ipv4.address'] ?? '')) return;
    const held = await this.allocations.listForNetwork(row.id);
    if (held.some((a) => a.ipv4Address)) {
      throw new InUseError('Cannot change "ipv4.address" while instances hold addresses on the network: stop or remove their NICs first');
    }
  }

  /** who uses what, from two queries: (network name) => used_by URLs */
  private async userIndex(): Promise<(network: string) => string[]> {
    const [profiles, instances] = await Promise.all([this.profiles.list(), this.instances.list()]);
    const cache = new Map<string, string[]>();
    return (network) => {
      let users = cache.get(network);
      if (!users) cache.set(network, (users = networkUsers(network, profiles, instances)));
      return users;
    };
  }

  private managedInfo(row: NetworkEntity, usedBy: string[]): NetworkInfo {
    return { name: row.name, type: row.type, managed: true, status: row.status, description: row.description, config: { ...row.config }, usedBy };
  }
}

/** Host interfaces listed as unmanaged networks: not the host ends of instances' veth pairs (one per NIC). */
function isListedHostLink(l: HostLink): boolean {
  return l.kind !== 'veth';
}

function unmanagedInfo(l: HostLink, usedBy: string[]): NetworkInfo {
  return { name: l.name, type: unmanagedType(l.kind), managed: false, status: '', description: '', config: {}, usedBy };
}

/** LXD's types for host interfaces. */
function unmanagedType(kind: string): string {
  return ['bridge', 'bond', 'vlan', 'loopback', 'physical', 'macvlan'].includes(kind) ? kind : 'unknown';
}

function dropEmpty(config: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(config).filter(([, v]) => v !== ''));
}

/** The bridge section of api.NetworkState, from sysfs (no process spawned). */
async function bridgeState(name: string, links: HostLink[]): Promise<NetworkStateInfo['bridge']> {
  const read = (f: string) => readFile(`/sys/class/net/${name}/bridge/${f}`, 'utf8').then((t) => t.trim(), () => '');
  const [id, stp, delay, vlanDefault, vlanFiltering] = await Promise.all([
    read('bridge_id'),
    read('stp_state'),
    read('forward_delay'),
    read('default_pvid'),
    read('vlan_filtering'),
  ]);
  return {
    id,
    stp: stp !== '' && stp !== '0',
    // sysfs gives centiseconds, LXD reports them as they are
    forward_delay: Number(delay) || 0,
    vlan_default: Number(vlanDefault) || 0,
    vlan_filtering: vlanFiltering === '1',
    upper_devices: links.filter((l) => l.master === name).map((l) => l.name).sort(),
  };
}
