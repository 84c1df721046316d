import { readFileSync } from 'node:fs';
import { makeHarness, leftoverCgroups, processesInParent, sh, waitFor } from './harness';

describe('container lifecycle', () => {
  const h = makeHarness('life');
  afterAll(() => h.teardown());

  it('stops cleanly with the image halt signal and leaves nothing', async () => {
    const c = await h.spawn('halt1');
    await waitFor(() => c.consoleOutput().includes('booted'));
    const exit = await c.stop({ timeoutMs: 10_000 });
    expect(exit.reason).toBe('halt');
    expect(c.state).toBe('stopped');
    expect(c.consoleOutput()).toContain('lodge-busybox: shutting down');
    expect(processesInParent(h.parent)).toEqual([]);
    expect(leftoverCgroups(h.parent)).toEqual([]);
    expect(h.runtime.get('halt1')).toBeUndefined();
  });

  it('kills init when it ignores the halt signal past the timeout', async () => {
    // SIGPWR: busybox init ignores it, as in LXD with its default halt signal
    const c = await h.spawn('stubborn', { haltSignal: 'SIGPWR' });
    const started = Date.now();
    const exit = await c.stop({ timeoutMs: 300 });
    expect(exit).toEqual({ reason: 'killed', signal: 9 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(leftoverCgroups(h.parent)).toEqual([]);
  });

  it('force-stops at once', async () => {
    const c = await h.spawn('force1');
    const exit = await c.stop({ force: true });
    expect(exit.reason).toBe('killed');
    expect(processesInParent(h.parent)).toEqual([]);
  });

  it('tells a reboot request from inside', async () => {
    const c = await h.spawn('reboot1');
    await waitFor(() => c.consoleOutput().includes('booted'));
    const p = await c.exec({ argv: ['/sbin/reboot'] });
    p.stdin!.end();
    const exit = await c.exited;
    expect(exit.reason).toBe('reboot');
  });

  it('tells a poweroff from inside', async () => {
    const c = await h.spawn('poweroff1');
    await waitFor(() => c.consoleOutput().includes('booted'));
    const p = await c.exec({ argv: ['/sbin/poweroff'] });
    p.stdin!.end();
    expect((await c.exited).reason).toBe('halt');
  });

  it('freezes and thaws', async () => {
    const c = await h.spawn('freeze1');
    const counter = await c.exec({ argv: ['/bin/sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.02; done'] });
    counter.stdin!.end();
    await waitFor(async () => (await sh(c, 'cat /tmp/count')).stdout.trim() !== '');
    await c.freeze();
    expect(c.state).toBe('frozen');
    const tasks = readFileSync(`/proc/${counter.pid}/status`, 'utf8');
    expect(tasks).toMatch(/^State:\s+[DS]/m);
    const rootfsCount = () => Number(readFileSync(`/proc/${c.pid}/root/tmp/count`, 'utf8').trim() || 0);
    const before = rootfsCount();
    await new Promise((r) => setTimeout(r, 200));
    expect(rootfsCount()).toBe(before);
    await expect(c.exec({ argv: ['/bin/true'] })).rejects.toThrow(/frozen/);
    await c.thaw();
    expect(c.state).toBe('running');
    expect(await waitFor(() => rootfsCount() > before)).toBe(true);
    await c.stop({ force: true });
  });

  it('stops a frozen container', async () => {
    const c = await h.spawn('frozenstop');
    await c.freeze();
    expect((await c.stop({ force: true })).reason).toBe('killed');
    expect(leftoverCgroups(h.parent)).toEqual([]);
  });

  it('refuses operations on a stopped container with a clear error', async () => {
    const c = await h.spawn('gone1');
    await c.stop({ force: true });
    await expect(c.exec({ argv: ['/bin/true'] })).rejects.toThrow(/not running/);
    await expect(c.freeze()).rejects.toThrow(/not running/);
    expect(await c.stop()).toEqual({ reason: 'killed', signal: 9 });
  });
});
