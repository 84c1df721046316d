import type { NetworkAllocationsRepository, NetworkLeaseRow } from '@lodge/state';
import { NetworkReservations } from './network-reservations';

/** Rows that change while writes run, and a bridge that records what each write carried. */
function harness() {
  let rows: NetworkLeaseRow[] = [];
  const writes: string[][] = [];
  let release: (() => void) | undefined;
  const allocations = { leases: async () => rows.map((r) => ({ ...r })) } as unknown as NetworkAllocationsRepository;
  const bridge = {
    setReservations: (_name: string, r: Array<{ hwaddr: string }>) =>
      new Promise<void>((resolve) => {
        writes.push(r.map((x) => x.hwaddr));
        release = resolve;
      }),
  };
  const row = (hwaddr: string): NetworkLeaseRow => ({ project: 'default', instance: 'c', device: 'eth0', hwaddr, ipv4Address: '10.0.0.2', static: false });
  return {
    sync: new NetworkReservations(allocations, bridge),
    add: (mac: string) => (rows = [...rows, row(mac)]),
    writes,
    finishWrite: async () => {
      await new Promise((r) => setImmediate(r));
      release?.();
      await new Promise((r) => setImmediate(r));
    },
  };
}

describe('reservation writes', () => {
  it('coalesces callers that arrive during a write into one next write that has all their rows', async () => {
    const h = harness();
    const net = { id: 1, name: 'br0' };
    h.add('00:16:3e:00:00:01');
    const first = h.sync.sync(net);
    await new Promise((r) => setImmediate(r));
    h.add('00:16:3e:00:00:02');
    const second = h.sync.sync(net);
    h.add('00:16:3e:00:00:03');
    const third = h.sync.sync(net);
    expect(second).toBe(third);
    await h.finishWrite();
    await first;
    await h.finishWrite();
    await Promise.all([second, third]);
    expect(h.writes).toEqual([['00:16:3e:00:00:01'], ['00:16:3e:00:00:01', '00:16:3e:00:00:02', '00:16:3e:00:00:03']]);
  });
});
