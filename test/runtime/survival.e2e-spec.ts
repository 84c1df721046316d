import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ContainerRecord } from '@lodge/runtime';
import { leftoverCgroups, makeHarness, processesInParent, run } from './harness';

/** Alive and not a zombie (the host's init reaps a re-parented container's init when it likes). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('containers outlive the process that spawned them', () => {
  const h = makeHarness('survive');
  afterAll(() => h.teardown());

  it('is re-adopted by a new process, which can exec into it and stop it', async () => {
    const rootfs = h.rootfs();
    const out = execFileSync(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', join(__dirname, 'survival-child.ts'), h.parent, rootfs, h.dir],
      { encoding: 'utf8', cwd: join(__dirname, '..', '..'), env: { ...process.env, TS_NODE_PROJECT: join(__dirname, '..', '..', 'tsconfig.json') } },
    );
    const record: ContainerRecord = JSON.parse(out);
    // the spawning process has exited; init still runs, reparented away from it
    expect(() => process.kill(record.pid, 0)).not.toThrow();
    expect(processesInParent(h.parent)).toContain(record.pid);

    const c = await h.runtime.adopt(record);
    expect(c).toBeDefined();
    const r = await run(c!, ['/bin/hostname']);
    expect(r.stdout.trim()).toBe('survivor');
    expect((await c!.stats()).pids).toBeGreaterThanOrEqual(1);

    const exit = await c!.stop({ timeoutMs: 10_000 });
    // not our child any more: the end is seen through the pidfd, the reason is not knowable
    expect(exit.reason).toBe('unknown');
    expect(isRunning(record.pid)).toBe(false);
    expect(leftoverCgroups(h.parent)).toEqual([]);
  });

  it('refuses to adopt a pid that is no longer the container, and cleans its cgroup', async () => {
    const c = await h.spawn('notme');
    const record = c.describe();
    await c.stop({ force: true });
    expect(await h.runtime.adopt({ ...record })).toBeUndefined();
    // a live pid with another start time is not ours either
    expect(await h.runtime.adopt({ ...record, pid: process.pid })).toBeUndefined();
  });
});
