import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Container } from '@lodge/runtime';
import { formatCpuList, onlineCpus } from '../../libs/runtime/src/cpus/cpu-allocator';
import { makeHarness, run } from './harness';

const MiB = 1024 * 1024;

/** A limit file of the container's cgroup, read on the host. */
function cgroupFile(c: Container, controller: string, v1File: string, v2File: string): string {
  const path = c.cgroup.paths.find((p) => p.includes(`/${controller}/`)) ?? c.cgroup.paths[0];
  const file = c.cgroup.paths.length > 1 ? v1File : v2File;
  return readFileSync(join(path, file), 'utf8').trim();
}

describe('resource limits hold', () => {
  const h = makeHarness('limits');
  afterAll(() => h.teardown());

  it('OOM-kills a memory hog inside while the container lives on', async () => {
    const c = await h.spawn('mem1', { limits: { memoryMax: 64 * MiB, swap: false } });
    const hog = await run(c, ['/usr/local/bin/payload', 'memhog', '256']);
    expect(hog.signal).toBe(9);
    expect(hog.stdout).toBe('');
    expect(c.state).toBe('running');
    expect((await run(c, ['/bin/echo', 'still here'])).stdout).toBe('still here\n');
    expect((await c.stats()).oomKills).toBeGreaterThanOrEqual(1);
    // within the limit the same program completes
    expect(JSON.parse((await run(c, ['/usr/local/bin/payload', 'memhog', '16'])).stdout)).toEqual({ allocated_mib: 16 });
  });

  it('stops a fork bomb at pids.max', async () => {
    const c = await h.spawn('pids1', { limits: { pidsMax: 40 } });
    const r = JSON.parse((await run(c, ['/usr/local/bin/payload', 'forkbomb', '1000'])).stdout);
    expect(r.forked).toBeLessThan(40);
    expect(r.forked).toBeGreaterThan(20);
    expect(r.errno).toBe('EAGAIN');
    expect(c.state).toBe('running');
  });

  it('shows cpu time and quota in stats and the cgroup', async () => {
    const c = await h.spawn('cpu1', { limits: { cpuQuota: { quotaUs: 20_000, periodUs: 100_000 } } });
    const before = (await c.stats()).cpuTimeNs;
    const spin = JSON.parse((await run(c, ['/usr/local/bin/payload', 'spin', '500'])).stdout);
    expect(spin.spun_ms).toBeGreaterThanOrEqual(500);
    const used = (await c.stats()).cpuTimeNs - before;
    // 500 ms of wall time at a 20% quota: about 100 ms of cpu, far below 500 ms
    expect(used).toBeGreaterThan(20e6);
    expect(used).toBeLessThan(300e6);
    expect(cgroupFile(c, 'cpu', 'cpu.cfs_quota_us', 'cpu.max')).toMatch(/^20000( 100000)?$/);
  });

  it('applies limits changed while running', async () => {
    const c = await h.spawn('live1', { limits: { memoryMax: 32 * MiB, pidsMax: 100 } });
    expect((await run(c, ['/usr/local/bin/payload', 'memhog', '64'])).signal).toBe(9);
    await c.setLimits({ memoryMax: 256 * MiB, pidsMax: 10 });
    expect(JSON.parse((await run(c, ['/usr/local/bin/payload', 'memhog', '64'])).stdout)).toEqual({ allocated_mib: 64 });
    expect(Number(cgroupFile(c, 'memory', 'memory.limit_in_bytes', 'memory.max'))).toBe(256 * MiB);
    expect(cgroupFile(c, 'pids', 'pids.max', 'pids.max')).toBe('10');
    const bomb = JSON.parse((await run(c, ['/usr/local/bin/payload', 'forkbomb', '100'])).stdout);
    expect(bomb.forked).toBeLessThan(10);
    await c.setLimits({ pidsMax: null });
    expect(cgroupFile(c, 'pids', 'pids.max', 'pids.max')).toBe('max');
  });

  it('pins cpus', async () => {
    const c = await h.spawn('pin1', { limits: { cpuset: '0' } });
    const allowed = (await run(c, ['/bin/grep', 'Cpus_allowed_list', '/proc/self/status'])).stdout;
    expect(allowed).toMatch(/Cpus_allowed_list:\s+0$/m);
  });

  it('pins a number of CPUs to the least used ones, and re-pins live', async () => {
    const online = onlineCpus();
    const a = await h.spawn('count1', { limits: { cpuCount: 1 } });
    const b = await h.spawn('count2', { limits: { cpuCount: 1 } });
    const allowed = async (c: Container) =>
      /Cpus_allowed_list:\s+(\S+)/.exec((await run(c, ['/bin/grep', 'Cpus_allowed_list', '/proc/self/status'])).stdout)![1];
    const pa = await allowed(a);
    const pb = await allowed(b);
    expect(pa).toBe(a.describe().pinnedCpus);
    expect(pb).toBe(b.describe().pinnedCpus);
    if (online.length > 1) expect(pa).not.toBe(pb); // spread, not piled on one cpu
    await b.setLimits({ cpuCount: online.length });
    expect(await allowed(b)).toBe(formatCpuList(online));
    await b.setLimits({ cpuCount: null });
    expect(b.describe().pinnedCpus).toBeUndefined();
    expect(await allowed(b)).toBe(formatCpuList(online));
    await expect(b.setLimits({ cpuCount: online.length + 1 })).rejects.toThrow(/more than the \d+ online CPUs/);
    await expect(h.spawn('count3', { limits: { cpuCount: 1, cpuset: '0' } })).rejects.toThrow(/either cpuCount or cpuset/);
    await a.stop({ force: true });
    await b.stop({ force: true });
  });

  it('reports memory use and peak', async () => {
    const c = await h.spawn('stats1', { limits: { memoryMax: 128 * MiB } });
    await run(c, ['/usr/local/bin/payload', 'memhog', '32']);
    const s = await c.stats();
    expect(s.memoryCurrent).toBeGreaterThan(0);
    expect(s.memoryPeak).toBeGreaterThanOrEqual(32 * MiB);
    expect(s.pids).toBeGreaterThanOrEqual(1);
  });

  it('rejects invalid limits on a running container and keeps the old ones', async () => {
    const c = await h.spawn('badlive', { limits: { pidsMax: 50 } });
    await expect(c.setLimits({ pidsMax: -3 })).rejects.toThrow(/pidsMax/);
    await expect(c.setLimits({ memoryMax: 10 })).rejects.toThrow(/memoryMax/);
    expect(cgroupFile(c, 'pids', 'pids.max', 'pids.max')).toBe('50');
  });
});
