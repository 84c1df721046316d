/**
 * The `nic` devices of instances: each becomes a veth pair (host end on a bridge, the other end
 * made directly inside the instance's network namespace with its name and MAC) or a macvlan on a
 * parent interface. On a managed network the NIC gets its address from the allocations table
 * (a static `ipv4.address`, or the next free one) and dnsmasq serves exactly that address to the
 * NIC's MAC.
 *
 * Lifecycle: prepare() at start (resolve, allocate: all or nothing), attach() while init is held
 * (links in its namespace, reservations written), releaseAfterStop() when init ended, in the
 * background: the kernel removes the veths with the namespace, and picked addresses go back to
 * the pool. Static addresses stay reserved for the instance until its NIC changes or it is deleted.
 */
import { closeSync, existsSync, openSync } from 'node:fs';
import { ConflictError, InvalidArgumentError, NotFoundError } from '@lodge/common';
import type { DeviceConfig, Devices } from '@lodge/config';
import { NetworkAllocationEntity, NetworkAllocationsRepository, NetworkEntity, NetworksRepository } from '@lodge/state';
import { sendDhcpRelease } from '../dhcp';
import { AddressRange, dhcpPools, InterfaceCidr, nextFreeAddress, parseDhcpRanges, parseInterfaceCidr, tryParseIp, validateStaticAddress } from '../ipam';
import type { HostLinks } from '../networks/host-links';
import type { NetworkReservations } from '../networks/network-reservations';
import { missingNicMacs, nicHwaddr, nicNamesInside, nicsOf, randomHostVethName, randomMac } from './nic-identity';

/** The instance a NIC belongs to (its row's id, name and config). */
export interface NicOwner {
  id: number;
  name: string;
  config: Readonly<Record<string, string>>;
}

/** One NIC resolved for a start: everything attach() needs. */
export interface NicPlan {
  device: string;
  kind: 'bridged' | 'macvlan';
  /** the bridge (bridged) or the parent interface (macvlan) */
  parent: string;
  /** the managed network it is on, if any */
  network?: { id: number; name: string };
  nameInside: string;
  hostName?: string;
  hwaddr: string;
  mtu?: number;
  ipv4Address?: string;
}

export interface PreparedNics {
  plans: NicPlan[];
  /** volatile keys to store with the started instance (MACs generated now, host-side names) */
  volatile: Record<string, string>;
  /** gives back what prepare() allocated (the start failed) */
  undo(): Promise<void>;
}

const NONE: PreparedNics = { plans: [], volatile: {}, undo: async () => undefined };

export class NicDevices {
  /** instance id -> its background address work (release after stop, forgetting after delete), still under way */
  private readonly releasing = new Map<number, Promise<void>>();

  constructor(
    private readonly networks: NetworksRepository,
    private readonly allocations: NetworkAllocationsRepository,
    private readonly links: HostLinks,
    private readonly reservations: NetworkReservations,
    private readonly options: {
      log?: (message: string) => void;
      /**
       * Stores volatile keys on a stopped instance: the addresses its NICs gave back, asked for
       * again at its next start (volatile.<dev>.last_state.ipv4).
       */
      remember?: (instance: string, volatile: Record<string, string>) => Promise<void>;
    } = {},
  ) {}

  hasNics(devices: Readonly<Devices>): boolean {
    return nicsOf(devices).length > 0;
  }

  /** volatile.<dev>.hwaddr for NICs without a MAC (stored at create). */
  macsFor(devices: Readonly<Devices>, config: Readonly<Record<string, string>>): Record<string, string> {
    return missingNicMacs(devices, config);
  }

  /**
   * Checks that every NIC can be made, without changing anything: its managed network exists, its
   * parent interface exists (a bridge, for a bridged NIC), a static address lies in the network's
   * subnet. For create and update, so bad devices are refused before anything is stored.
   */
  async validate(devices: Readonly<Devices>, networks?: NetworkEntity[]): Promise<void> {
    const nics = nicsOf(devices);
    if (nics.length === 0) return;
    const rows = networks ?? (await this.listNetworks());
    for (const [device, d] of nics) this.resolve(device, d, rows);
  }

  /** The managed networks, for callers that look them up together with other things (create). */
  catalog(): Promise<NetworkEntity[]> {
    return this.listNetworks();
  }

  /** Resolves the instance's NICs and takes their addresses; nothing is held when it fails. */
  async prepare(owner: NicOwner, devices: Readonly<Devices>): Promise<PreparedNics> {
    await this.releasing.get(owner.id);
    const nics = nicsOf(devices);
    // one round trip: what the instance holds and the networks, together
    const [held, rows] = await Promise.all([this.allocations.listForInstance(owner.id), nics.length > 0 ? this.listNetworks() : []]);
    if (nics.length === 0 && held.length === 0) return NONE;
    const names = nicNamesInside(devices);
    const volatile: Record<string, string> = {};
    const plans: NicPlan[] = [];
    for (const [device, d] of nics) plans.push(this.plan(owner, device, d, names.get(device)!, rows, volatile));
    // allocations that no longer match a NIC (removed, moved, re-addressed while stopped) go first
    const stale = held.filter((a) => !plans.some((p) => matches(a, p, devices[p.device])));
    for (const a of stale) await this.releaseOne(owner.id, a, rows.find((r) => r.id === a.networkId)?.name);
    const undo = await this.allocatePlans(owner, plans, rows, devices, held.filter((a) => !stale.includes(a)));
    // (`rows` is empty when the instance has no NIC left: the stale ones' networks are looked up)
    if (stale.length > 0) await this.syncAll(await this.networksOf(stale));
    return { plans, volatile, undo };
  }

  /**
   * Makes the NICs inside the namespace of process `pid` (a held init, or a running instance for
   * hot-plug) and has dnsmasq serve their addresses, before the instance can ask for them.
   */
  async attach(prepared: PreparedNics, pid: number): Promise<void> {
    if (prepared.plans.length === 0) return;
    const netnsFd = openSync(`/proc/${pid}/ns/net`, 'r');
    try {
      await Promise.all([
        ...prepared.plans.map((p) => this.makeLink(p, netnsFd)),
        this.syncAll(prepared.plans.filter((p) => p.network).map((p) => p.network!)),
      ]);
    } finally {
      closeSync(netnsFd);
    }
  }

  /**
   * After init ended: picked addresses go back to the pool (dnsmasq forgets their leases first),
   * in the background so the stop's reply never waits for it. The veths go with the namespace.
   * A later prepare() of the same instance waits for it.
   */
  releaseAfterStop(owner: Pick<NicOwner, 'id' | 'name'>): void {
    this.inBackground(owner, 'releasing addresses', () => this.releaseDynamic(owner));
  }

  /**
   * What an instance about to be deleted holds; its rows go with the instance's, and forget()
   * then has dnsmasq drop the leases in the background.
   */
  heldBy(instanceId: number): Promise<NetworkAllocationEntity[]> {
    return this.allocations.listForInstance(instanceId);
  }

  /**
   * After the instance and its allocation rows are gone: dnsmasq forgets the leases and the
   * reservations follow the rows, off the delete's reply path. Until a lease is forgotten its
   * address is not picked for another NIC.
   */
  forget(instance: Pick<NicOwner, 'id' | 'name'>, held: NetworkAllocationEntity[]): void {
    this.lastAddresses.delete(instance.id);
    if (held.length === 0) return;
    for (const a of held) if (a.ipv4Address) this.markForgetting(a.networkId, a.ipv4Address, true);
    this.inBackground(instance, 'forgetting leases', async () => {
      try {
        const nets = await this.networksOf(held);
        for (const a of held) {
          const name = nets.find((n) => n.id === a.networkId)?.name;
          if (name && a.ipv4Address) await this.dhcpRelease(name, a.ipv4Address, a.hwaddr);
        }
        await this.syncAll(nets);
      } finally {
        for (const a of held) if (a.ipv4Address) this.markForgetting(a.networkId, a.ipv4Address, false);
      }
    });
  }

  /**
   * Runs an instance's address work after its earlier background work (one queue per instance,
   * which prepare() waits for); a failure is logged, never thrown at anyone.
   */
  private inBackground(instance: Pick<NicOwner, 'id' | 'name'>, what: string, work: () => Promise<void>): void {
    const run: Promise<void> = (this.releasing.get(instance.id) ?? Promise.resolve())
      .then(work)
      .catch((err) => this.options.log?.(`${instance.name}: ${what} failed: ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => {
        if (this.releasing.get(instance.id) === run) this.releasing.delete(instance.id);
      });
    this.releasing.set(instance.id, run);
  }

  private async listNetworks(): Promise<NetworkEntity[]> {
    return this.learnGateways(await this.networks.list());
  }

  /** instance id -> the volatile.<dev>.last_state.ipv4 keys its last stop stored */
  private readonly lastAddresses = new Map<number, Record<string, string>>();

  /** network id -> addresses whose leases are being dropped */
  private readonly forgetting = new Map<number, Set<string>>();

  private markForgetting(networkId: number, address: string, on: boolean): void {
    let set = this.forgetting.get(networkId);
    if (on) {
      if (!set) this.forgetting.set(networkId, (set = new Set()));
      set.add(address);
    } else if (set) {
      set.delete(address);
      if (set.size === 0) this.forgetting.delete(networkId);
    }
  }

  /** Hot-plug: a NIC added to a running instance (init `pid`); returns the volatile keys to store. */
  async plug(owner: NicOwner, device: string, d: DeviceConfig, allDevices: Readonly<Devices>, pid: number): Promise<Record<string, string>> {
    const names = nicNamesInside(allDevices);
    const prepared = await this.prepareOne(owner, device, d, names.get(device) ?? device);
    try {
      await this.attach(prepared, pid);
    } catch (err) {
      await prepared.undo();
      throw err;
    }
    return prepared.volatile;
  }

  /** Hot-unplug: the NIC's interface leaves the running instance and its address is given back. */
  async unplug(owner: NicOwner, device: string, allDevicesBefore: Readonly<Devices>, pid: number): Promise<void> {
    const nameInside = nicNamesInside(allDevicesBefore).get(device) ?? device;
    const netnsFd = openSync(`/proc/${pid}/ns/net`, 'r');
    try {
      await this.links.deleteLinkInNamespace(netnsFd, nameInside).catch((err) => {
        if (!(err instanceof NotFoundError)) throw err;
      });
    } finally {
      closeSync(netnsFd);
    }
    const row = await this.allocations.find(owner.id, device);
    if (row) {
      await this.releaseOne(owner.id, row);
      await this.syncAll(await this.networksOf([row]));
    }
  }

  /**
   * At daemon start: picked addresses of instances that do not run (a daemon killed before it
   * gave them back) return to the pool.
   */
  async sweep(running: ReadonlySet<number>): Promise<number> {
    let released = 0;
    for (const net of await this.listNetworks()) {
      let changed = false;
      for (const a of await this.allocations.listForNetwork(net.id)) {
        if (a.static || running.has(a.instanceId)) continue;
        await this.releaseOne(a.instanceId, a, net.name);
        changed = true;
        released++;
      }
      if (changed) await this.reservations.sync(net);
    }
    return released;
  }

  private async prepareOne(owner: NicOwner, device: string, d: DeviceConfig, nameInside: string): Promise<PreparedNics> {
    const rows = await this.listNetworks();
    const volatile: Record<string, string> = {};
    const plan = this.plan(owner, device, d, nameInside, rows, volatile);
    const stale = await this.allocations.find(owner.id, device);
    if (stale) await this.releaseOne(owner.id, stale);
    const undo = await this.allocatePlans(owner, [plan], rows, { [device]: d }, []);
    return { plans: [plan], volatile, undo };
  }

  /**
   * Takes the addresses of the plans on managed networks (a plan whose device is in `kept` keeps
   * that allocation); all or none. Returns what gives back the ones taken here.
   */
  private async allocatePlans(
    owner: NicOwner,
    plans: NicPlan[],
    rows: NetworkEntity[],
    devices: Readonly<Devices>,
    kept: NetworkAllocationEntity[],
  ): Promise<() => Promise<void>> {
    const made: NicPlan[] = [];
    const undo = async () => {
      for (const p of made) await this.allocations.release(owner.id, p.device).catch(() => undefined);
      await this.syncAll(made.map((p) => p.network!));
    };
    try {
      for (const p of plans) {
        if (!p.network) continue;
        const existing = kept.find((a) => a.device === p.device);
        if (existing) {
          p.ipv4Address = existing.ipv4Address ?? undefined;
          continue;
        }
        const row = await this.allocate(owner, p, rows.find((r) => r.id === p.network!.id)!, devices[p.device]);
        p.ipv4Address = row.ipv4Address ?? undefined;
        made.push(p);
      }
    } catch (err) {
      await undo();
      throw err;
    }
    return undo;
  }

  /** One NIC resolved: where it goes, its MAC and names; generated values are added to `volatile`. */
  private plan(
    owner: NicOwner,
    device: string,
    d: DeviceConfig,
    nameInside: string,
    rows: NetworkEntity[],
    volatile: Record<string, string>,
  ): NicPlan {
    const target = this.resolve(device, d, rows);
    let hwaddr = nicHwaddr(device, d, owner.config);
    if (!hwaddr) hwaddr = volatile[`volatile.${device}.hwaddr`] = randomMac();
    const hostName = target.kind === 'bridged' ? d.host_name || randomHostVethName() : undefined;
    if (hostName) volatile[`volatile.${device}.host_name`] = hostName;
    const bridgeMtu = target.network?.config['bridge.mtu'];
    return {
      device,
      kind: target.kind,
      parent: target.parent,
      network: target.network ? { id: target.network.id, name: target.network.name } : undefined,
      nameInside,
      hostName,
      hwaddr,
      mtu: d.mtu ? Number(d.mtu) : bridgeMtu ? Number(bridgeMtu) : undefined,
    };
  }

  /** Where a NIC goes: a managed network (by `network`, or a bridged `parent` naming one), or a host interface. */
  private resolve(
    device: string,
    d: DeviceConfig,
    rows: NetworkEntity[],
  ): { kind: 'bridged' | 'macvlan'; parent: string; network?: NetworkEntity } {
    const fail = (why: string) => new InvalidArgumentError(`Device validation failed for "${device}": ${why}`);
    if (d.network) {
      const net = rows.find((r) => r.name === d.network);
      if (!net) throw fail(`Network "${d.network}" not found`);
      this.checkStatic(device, d, net);
      return { kind: 'bridged', parent: net.name, network: net };
    }
    const parent = d.parent;
    const kind = d.nictype === 'macvlan' ? 'macvlan' : 'bridged';
    const managed = rows.find((r) => r.name === parent);
    if (kind === 'bridged' && managed) {
      this.checkStatic(device, d, managed);
      return { kind, parent, network: managed };
    }
    // sysfs answers for one interface without a dump of every link (one per running NIC)
    if (!existsSync(`/sys/class/net/${parent}`)) throw fail(`Parent interface "${parent}" doesn't exist on the host`);
    if (kind === 'bridged' && !existsSync(`/sys/class/net/${parent}/bridge`)) throw fail(`Parent interface "${parent}" is not a bridge`);
    if (kind === 'bridged' && d['ipv4.address']) throw fail('"ipv4.address" needs a managed network as parent');
    return { kind, parent };
  }

  private checkStatic(device: string, d: DeviceConfig, net: NetworkEntity): void {
    const address = d['ipv4.address'];
    if (!address) return;
    const v4 = net.config['ipv4.address'];
    if (!v4 || v4 === 'none') throw new InvalidArgumentError(`Device validation failed for "${device}": network "${net.name}" has no IPv4 subnet for "ipv4.address"`);
    try {
      validateStaticAddress(parseInterfaceCidr(v4, 4), address);
    } catch (err) {
      throw new InvalidArgumentError(`Device validation failed for "${device}": ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** The NIC's row on its network: the static address, or the next free one of the network's pools. */
  private async allocate(owner: NicOwner, p: NicPlan, net: NetworkEntity, d: DeviceConfig): Promise<NetworkAllocationEntity> {
    const v4 = net.config['ipv4.address'];
    const cidr = v4 && v4 !== 'none' ? parseInterfaceCidr(v4, 4) : undefined;
    const ranges = cidr && net.config['ipv4.dhcp.ranges'] ? parseDhcpRanges(net.config['ipv4.dhcp.ranges'], cidr) : undefined;
    const staticAddress = d['ipv4.address'] && cidr ? validateStaticAddress(cidr, d['ipv4.address']) : undefined;
    try {
      // addresses whose leases dnsmasq has not forgotten yet are not picked
      const forgetting = () => [...(this.forgetting.get(net.id) ?? [])];
      // the address this NIC had when the instance last stopped, when it is still free
      const key = `volatile.${p.device}.last_state.ipv4`;
      const previous = this.lastAddresses.get(owner.id)?.[key] ?? owner.config[key];
      const pick = (taken: string[]) => {
        const busy = [...taken, ...forgetting()];
        if (previous && cidr && !busy.includes(previous) && inPools(cidr, ranges, previous)) return previous;
        return nextFreeAddress(cidr!, busy, ranges);
      };
      return await this.allocations.allocate(
        { networkId: net.id, instanceId: owner.id, device: p.device, hwaddr: p.hwaddr, ipv4Address: staticAddress },
        cidr ? pick : undefined,
      );
    } catch (err) {
      if (err instanceof ConflictError || err instanceof NotFoundError) {
        throw new InvalidArgumentError(`Device "${p.device}" on network "${net.name}": ${err.message}`, { cause: err });
      }
      throw err;
    }
  }

  private async makeLink(p: NicPlan, netnsFd: number): Promise<void> {
    if (p.kind === 'macvlan') {
      await this.links.createMacvlanIntoNamespace({ parent: p.parent, peerName: p.nameInside, netnsFd, mtu: p.mtu, hwaddr: p.hwaddr });
      return;
    }
    await this.links.createVethIntoNamespace({
      hostName: p.hostName!,
      peerName: p.nameInside,
      peerNetnsFd: netnsFd,
      bridge: p.parent,
      mtu: p.mtu,
      hwaddr: p.hwaddr,
    });
  }

  private async releaseDynamic(owner: Pick<NicOwner, 'id' | 'name'>): Promise<void> {
    const held = (await this.allocations.listForInstance(owner.id)).filter((a) => !a.static);
    if (held.length === 0) return;
    const nets = await this.networksOf(held);
    for (const a of held) await this.releaseOne(owner.id, a, nets.find((n) => n.id === a.networkId)?.name);
    await this.syncAll(nets);
    // the next start asks for the same addresses again (they stay free unless someone took them)
    const last = Object.fromEntries(held.filter((a) => a.ipv4Address).map((a) => [`volatile.${a.device}.last_state.ipv4`, a.ipv4Address!]));
    if (Object.keys(last).length === 0) return;
    // also kept here: a start that read the instance's row before this release ended sees it
    this.lastAddresses.set(owner.id, { ...this.lastAddresses.get(owner.id), ...last });
    await this.options.remember?.(owner.name, last);
  }

  /** dnsmasq drops the lease (so the address can go to another MAC at once), then the row goes. */
  private async releaseOne(instanceId: number, a: NetworkAllocationEntity, networkName?: string): Promise<void> {
    const name = networkName ?? (await this.listNetworks()).find((n) => n.id === a.networkId)?.name;
    if (name && a.ipv4Address) await this.dhcpRelease(name, a.ipv4Address, a.hwaddr);
    await this.allocations.release(instanceId, a.device);
  }

  /** dnsmasq forgets the lease (a DHCPRELEASE sent on the bridge); no lease, or no bridge: nothing to forget. */
  private async dhcpRelease(bridge: string, address: string, hwaddr: string): Promise<void> {
    const gateway = this.gateways.get(bridge);
    if (!gateway) return;
    try {
      sendDhcpRelease(bridge, gateway, address, hwaddr);
    } catch (err) {
      this.options.log?.(`DHCP release of ${address} (${hwaddr}) on ${bridge}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** bridge -> its IPv4 address (dnsmasq's server address), learnt from the network rows this service reads */
  private readonly gateways = new Map<string, string>();

  private learnGateways(rows: NetworkEntity[]): NetworkEntity[] {
    for (const r of rows) {
      const v4 = r.config['ipv4.address'];
      if (v4 && v4 !== 'none' && v4 !== 'auto') this.gateways.set(r.name, v4.split('/')[0]);
      else this.gateways.delete(r.name);
    }
    return rows;
  }

  private async networksOf(rows: NetworkAllocationEntity[]): Promise<Array<{ id: number; name: string }>> {
    const ids = new Set(rows.map((r) => r.networkId));
    if (ids.size === 0) return [];
    return (await this.listNetworks()).filter((n) => ids.has(n.id));
  }

  private async syncAll(nets: Array<{ id: number; name: string }>): Promise<void> {
    const unique = [...new Map(nets.filter((n) => n.name).map((n) => [n.id, n])).values()];
    await Promise.all(unique.map((n) => this.reservations.sync(n)));
  }
}

/** Whether `address` lies in the network's DHCP pools (so never the gateway or broadcast). */
function inPools(cidr: InterfaceCidr, ranges: AddressRange[] | undefined, address: string): boolean {
  const ip = tryParseIp(address);
  return !!ip && ip.family === 4 && dhcpPools(cidr, ranges).some((r) => ip.value >= r.start && ip.value <= r.end);
}

/** An allocation still fits a NIC when the network, the MAC and the static address are the same. */
function matches(a: NetworkAllocationEntity, p: NicPlan, d: DeviceConfig): boolean {
  if (a.device !== p.device || a.networkId !== p.network?.id || a.hwaddr !== p.hwaddr) return false;
  const wantStatic = d['ipv4.address'] || undefined;
  if (wantStatic) return a.static && a.ipv4Address === wantStatic;
  return !a.static;
}
