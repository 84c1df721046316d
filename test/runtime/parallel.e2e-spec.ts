import { Container } from '@lodge/runtime';
import { BUSYBOX_ROOTFS, hostMountsUnder, leftoverCgroups, makeHarness, processesInParent, run } from './harness';

describe('50 containers in parallel', () => {
  const h = makeHarness('par');
  afterAll(() => h.teardown());

  it('spawn, run and stop, leaving no cgroup, mount or process behind', async () => {
    // one shared read-only-in-practice rootfs: busybox init writes nothing to it
    const names = Array.from({ length: 50 }, (_, i) => `p${i}`);
    const containers: Container[] = await Promise.all(names.map((n) => h.spawn(n, { rootfs: BUSYBOX_ROOTFS })));
    expect(new Set(containers.map((c) => c.pid)).size).toBe(50);
    expect(h.runtime.list()).toHaveLength(50);
    const hostnames = await Promise.all(containers.map((c) => run(c, ['/bin/hostname'])));
    expect(hostnames.map((r) => r.stdout.trim())).toEqual(names);
    expect(leftoverCgroups(h.parent).length).toBeGreaterThanOrEqual(50);

    const exits = await Promise.all(containers.map((c, i) => (i % 2 ? c.stop({ force: true }) : c.stop({ timeoutMs: 15_000 }))));
    expect(exits.filter((e) => e.reason === 'halt')).toHaveLength(25);
    expect(exits.filter((e) => e.reason === 'killed')).toHaveLength(25);
    expect(processesInParent(h.parent)).toEqual([]);
    expect(leftoverCgroups(h.parent)).toEqual([]);
    expect(hostMountsUnder(BUSYBOX_ROOTFS)).toEqual([]);
    expect(h.runtime.list()).toHaveLength(0);
  });
});
