/**
 * Keeps each managed network's dnsmasq reservations equal to its allocations in the database.
 * Writes are coalesced per network: while one write runs, every caller that asks meanwhile waits
 * for the next one, which reads the rows once for all of them (50 parallel launches make a
 * handful of writes, not 50), and a caller's rows are always in the write it waits for.
 */
import { NetworkAllocationsRepository } from '@lodge/state';
import { DhcpReservation, isDhcpHostname } from '../dhcp';
import type { BridgeDriver } from './bridge-driver';

interface NetworkRef {
  id: number;
  name: string;
}

interface SyncState {
  running?: Promise<void>;
  next?: Promise<void>;
}

export class NetworkReservations {
  private readonly states = new Map<number, SyncState>();

  constructor(
    private readonly allocations: NetworkAllocationsRepository,
    private readonly bridge: Pick<BridgeDriver, 'setReservations'>,
  ) {}

  /** The reservations of a network as its rows say: the NIC's MAC, address and instance name. */
  async of(networkId: number): Promise<DhcpReservation[]> {
    const rows = await this.allocations.leases(networkId);
    return rows.map((r) => ({
      hwaddr: r.hwaddr,
      ...(r.ipv4Address ? { ipv4: r.ipv4Address } : {}),
      // instance names are valid host names (LXD's rule), but a reservation never carries a bad one
      ...(isDhcpHostname(r.instance) ? { hostname: r.instance } : {}),
    }));
  }

  /** Settles once a write that read the rows after this call has reached dnsmasq. */
  sync(net: NetworkRef): Promise<void> {
    let state = this.states.get(net.id);
    if (!state) this.states.set(net.id, (state = {}));
    const s = state;
    if (!s.running) return (s.running = this.write(net, s));
    // a write is under way and may have read the rows before the caller's change: wait for the next
    s.next ??= s.running.catch(() => undefined).then(() => {
      s.next = undefined;
      return (s.running = this.write(net, s));
    });
    return s.next;
  }

  private async write(net: NetworkRef, s: SyncState): Promise<void> {
    try {
      await this.bridge.setReservations(net.name, await this.of(net.id));
    } finally {
      if (!s.next) s.running = undefined;
      if (!s.running && !s.next) this.states.delete(net.id);
    }
  }
}
