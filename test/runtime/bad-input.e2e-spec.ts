import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AlreadyExistsError, InvalidArgumentError, SystemError } from '@lodge/common';
import { probeCgroups, RuntimeService } from '@lodge/runtime';
import { hostMountsUnder, leftoverCgroups, makeHarness, PAYLOAD_ROOTFS, processesInParent } from './harness';

/** Zombie children of this process: a container init that was never reaped would show here. */
function zombieChildren(): string[] {
  return readdirSync('/proc').filter((d) => {
    if (!/^\d+$/.test(d)) return false;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return state === 'Z' && Number(ppid) === process.pid;
    } catch {
      return false;
    }
  });
}

describe('bad input gets a clear error and leaves nothing behind', () => {
  const h = makeHarness('bad');
  afterAll(() => h.teardown());

  afterEach(() => {
    expect(processesInParent(h.parent)).toEqual([]);
    expect(leftoverCgroups(h.parent)).toEqual([]);
    expect(hostMountsUnder(h.dir)).toEqual([]);
    expect(h.runtime.list()).toEqual([]);
  });

  it('a rootfs that does not exist', async () => {
    await expect(h.spawn('b1', { rootfs: '/nonexistent/rootfs' })).rejects.toThrow(new InvalidArgumentError('rootfs "/nonexistent/rootfs" is not a directory'));
  });

  it('a rootfs without init', async () => {
    const empty = join(h.dir, 'empty-rootfs');
    mkdirSync(empty);
    const err = await h.spawn('b2', { rootfs: empty }).catch((e) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toMatch(/cannot run init: execve \/sbin\/init: ENOENT/);
  });

  it('an init that is not executable', async () => {
    const rootfs = h.rootfs(PAYLOAD_ROOTFS);
    rmSync(join(rootfs, 'sbin', 'init'));
    writeFileSync(join(rootfs, 'sbin', 'init'), 'not a program', { mode: 0o644 });
    await expect(h.spawn('b3', { rootfs })).rejects.toThrow(/execve \/sbin\/init: EACCES/);
  });

  it('overlapping id maps', async () => {
    const { uidMap } = h.runtime.defaultIdMaps();
    const base = uidMap[0].outside;
    const bad = [
      { inside: 0, outside: base, count: 1000 },
      { inside: 500, outside: base + 5000, count: 1000 },
    ];
    await expect(h.spawn('b4', { uidMap: bad, gidMap: bad })).rejects.toThrow(/overlap inside the container/);
  });

  it('id maps outside root\'s subordinate ranges', async () => {
    const map = [{ inside: 0, outside: 1000, count: 65536 }];
    await expect(h.spawn('b5', { uidMap: map, gidMap: map })).rejects.toThrow(/not within root's subordinate uids/);
  });

  it('id maps that are not numbers', async () => {
    const map = [{ inside: 0, outside: Number.NaN, count: 65536 }];
    await expect(h.spawn('b6', { uidMap: map, gidMap: map })).rejects.toThrow(/outside must be an integer/);
  });

  it('invalid limits', async () => {
    await expect(h.spawn('b7', { limits: { memoryMax: 1024 } })).rejects.toThrow(/memoryMax/);
    await expect(h.spawn('b8', { limits: { cpuset: '0-zz' } })).rejects.toThrow(/cpuset/);
    await expect(h.spawn('b9', { limits: { pidsMax: 0 } })).rejects.toThrow(/pidsMax/);
    await expect(h.spawn('b10', { limits: { cpuQuota: { quotaUs: 10, periodUs: 100_000 } } })).rejects.toThrow(/quota/i);
  });

  it('invalid names and hostnames', async () => {
    await expect(h.spawn('../escape')).rejects.toThrow(InvalidArgumentError);
    await expect(h.spawn('ok-name', { hostname: 'bad_host!' })).rejects.toThrow(/invalid hostname/);
  });

  it('an init that exits at once', async () => {
    const rootfs = h.rootfs(PAYLOAD_ROOTFS);
    const err = await h.spawn('b11', { rootfs, init: ['/usr/local/bin/payload', 'exit', '3'], startupGraceMs: 300 }).catch((e) => e);
    expect(err).toBeInstanceOf(SystemError);
    expect(err.message).toMatch(/ended right after start \(exit status 3\)/);
  });

  it('a cgroup left behind: empty, it is replaced; with a running container in it, the spawn is refused', async () => {
    const stale = await h.runtime.cgroups.create('stale1', {});
    expect(stale.paths.length).toBeGreaterThan(0);
    const c = await h.spawn('stale1');
    expect(c.state).toBe('running');
    await c.stop({ force: true });

    // another process's container of that name (a second runtime on the same cgroup parent)
    const other = new RuntimeService({ cgroups: probeCgroups({ parent: h.parent }) });
    const theirs = await other.spawn({ name: 'taken1', rootfs: h.rootfs(), haltSignal: 'SIGUSR2' });
    await expect(h.spawn('taken1')).rejects.toThrow(/already running, but not tracked by this process/);
    expect(theirs.state).toBe('running');
    await theirs.stop({ force: true });
  });

  it('a duplicate name', async () => {
    const c = await h.spawn('dup1');
    await expect(h.spawn('dup1')).rejects.toThrow(AlreadyExistsError);
    await c.stop({ force: true });
  });

  it('a mount that fails in the setup stage, after init exists', async () => {
    const src = join(h.dir, 'bind-src');
    mkdirSync(src, { recursive: true });
    const zombiesBefore = zombieChildren();
    // /etc/passwd is a file: the target below it cannot be made
    await expect(h.spawn('b13', { binds: [{ source: src, target: '/etc/passwd/sub' }] })).rejects.toThrow(/mount target \/etc\/passwd\/sub: ENOTDIR/);
    expect(zombieChildren()).toEqual(zombiesBefore);
  });

  it('a bind source that does not exist', async () => {
    await expect(h.spawn('b12', { binds: [{ source: '/nonexistent/dir', target: '/mnt/x' }] })).rejects.toThrow(/does not exist/);
  });
});
