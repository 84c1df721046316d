/**
 * The cgroup backends against the REAL kernel of a hybrid host: CgroupV1Backend on the v1
 * hierarchies, and CgroupV2Backend on the controller-less cgroup2 mount at /sys/fs/cgroup/unified.
 *
 * Needs root. Every cgroup lives below a unique parent (`lodge-test-<pid>-<random>`), never below
 * the daemon's `lodge`, and afterAll removes that parent in every hierarchy (killing and thawing
 * whatever is left) even when a test failed.
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import { randomBytes } from 'crypto';
import { existsSync, promises as fsp, readFileSync, readdirSync, writeFileSync } from 'fs';
import { release } from 'os';
import { join } from 'path';
import { AlreadyExistsError, InvalidArgumentError, NotFoundError, NotSupportedError } from '@lodge/common';
import type { CgroupHandle } from './cgroup-backend';
import { CgroupV1Backend, V1_DEVICE_ALLOWLIST } from './cgroup-v1';
import { CgroupV2Backend } from './cgroup-v2';

const MiB = 1024 * 1024;
const UNIFIED = '/sys/fs/cgroup/unified';

// ---- host facts, read independently of the code under test ---------------------------------

interface Mount {
  point: string;
  type: string;
  options: string[];
}
const mounts: Mount[] = readFileSync('/proc/self/mountinfo', 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => {
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    return { point: f[4], type: f[sep + 1], options: (f[sep + 3] ?? '').split(',') };
  });
const v1Mounts = mounts.filter((m) => m.type === 'cgroup');
const isRoot = process.getuid?.() === 0;
const hasV1Memory = v1Mounts.some((m) => m.options.includes('memory'));
const hasUnified = mounts.some((m) => m.point === UNIFIED && m.type === 'cgroup2');
const mountOf = (controller: string): string => v1Mounts.find((m) => m.options.includes(controller))!.point;

const PARENT = `lodge-test-${process.pid}-${randomBytes(4).toString('hex')}`;

const read = (file: string): string => readFileSync(file, 'utf8').trim();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Kills, thaws and removes everything below `dir`, deepest first; tolerant of anything already gone. */
async function scrub(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) await scrub(join(dir, e.name));
  for (const pid of (existsSync(join(dir, 'cgroup.procs')) ? read(join(dir, 'cgroup.procs')) : '').split('\n').filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const [file, value] of [
    ['freezer.state', 'THAWED'],
    ['cgroup.freeze', '0'],
  ]) {
    if (existsSync(join(dir, file))) writeFileSync(join(dir, file), value);
  }
  for (let i = 0; i < 100; i++) {
    try {
      await fsp.rmdir(dir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      await sleep(20);
    }
  }
  throw new Error(`test cleanup could not remove ${dir}`);
}

async function scrubParentEverywhere(): Promise<void> {
  const roots = [...v1Mounts.map((m) => m.point), ...(hasUnified ? [UNIFIED] : [])];
  const errors: unknown[] = [];
  for (const r of roots) await scrub(join(r, PARENT)).catch((e) => errors.push(e));
  if (errors.length > 0) throw errors[0];
}

/** A child that waits on stdin, so it can be moved into a cgroup before it execs `sleep 30` there
 *  (the exec then charges memory and cpu to the new cgroup). */
class Sleeper {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor() {
    this.child = spawn('sh', ['-c', 'read go; exec sleep 30'], { stdio: ['pipe', 'ignore', 'ignore'] });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Moves the child into the cgroup, lets it exec `sleep` there, and waits until it did. */
  async moveInto(procsFiles: readonly string[]): Promise<void> {
    for (const f of procsFiles) writeFileSync(f, String(this.pid));
    this.child.stdin!.end('go\n');
    for (let i = 0; i < 500; i++) {
      if (read(`/proc/${this.pid}/comm`) === 'sleep') return;
      await sleep(10);
    }
    throw new Error(`pid ${this.pid} never exec'd sleep`);
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

const skipReason = !isRoot ? 'needs root' : !hasV1Memory ? 'no cgroup v1 memory hierarchy is mounted' : '';
const describeV1 = skipReason ? describe.skip : describe;

describeV1(`CgroupV1Backend on the real kernel${skipReason ? ` (SKIPPED: ${skipReason})` : ''}`, () => {
  const page = Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).trim());
  const pageFloor = (n: number): number => Math.floor(n / page) * page;
  let backend: CgroupV1Backend;
  let handle: CgroupHandle;
  let sleeper: Sleeper | undefined;
  const dirOf = (controller: string): string => join(mountOf(controller), PARENT, 'c1');
  const parentOf = (controller: string): string => join(mountOf(controller), PARENT);

  beforeAll(() => {
    backend = new CgroupV1Backend({ parent: PARENT });
  });

  afterAll(async () => {
    sleeper?.kill();
    await scrubParentEverywhere();
  });

  it('discovers every mounted v1 hierarchy, name=systemd included', () => {
    expect(backend.hierarchies.map((h) => h.mountPoint).sort()).toEqual(v1Mounts.map((m) => m.point).sort());
    expect(backend.capabilities).toMatchObject({ version: 'v1', memory: true, killAll: false });
    expect(backend.capabilities.swapLimit).toBe(existsSync(join(mountOf('memory'), 'memory.memsw.limit_in_bytes')));
  });

  it('creates the cgroup in every hierarchy with the limits the kernel reports back', async () => {
    const memoryMax = 64 * MiB + 100; // not page aligned: the kernel rounds down
    handle = await backend.create('c1', {
      memoryMax,
      memoryLow: 32 * MiB,
      swap: false,
      cpuQuota: { quotaUs: 50000, periodUs: 100000 },
      cpuWeight: 50,
      pidsMax: 50,
      cpuset: '0',
    });
    expect(handle.relativePath).toBe(`/${PARENT}/c1`);
    expect(handle.paths).toEqual(v1Mounts.map((m) => join(m.point, PARENT, 'c1')));
    for (const p of handle.paths) expect(existsSync(p)).toBe(true);

    expect(Number(read(join(dirOf('memory'), 'memory.limit_in_bytes')))).toBe(pageFloor(memoryMax));
    expect(Number(read(join(dirOf('memory'), 'memory.soft_limit_in_bytes')))).toBe(32 * MiB);
    if (backend.capabilities.swapLimit) {
      expect(Number(read(join(dirOf('memory'), 'memory.memsw.limit_in_bytes')))).toBe(pageFloor(memoryMax));
    }
    expect(read(join(dirOf('memory'), 'memory.swappiness'))).toBe('0');
    expect(read(join(dirOf('cpu'), 'cpu.cfs_period_us'))).toBe('100000');
    expect(read(join(dirOf('cpu'), 'cpu.cfs_quota_us'))).toBe('50000');
    expect(read(join(dirOf('cpu'), 'cpu.shares'))).toBe('512');
    expect(read(join(dirOf('pids'), 'pids.max'))).toBe('50');
    expect(read(join(dirOf('cpuset'), 'cpuset.cpus'))).toBe('0');
    const mems = read(join(dirOf('cpuset'), 'cpuset.mems'));
    expect(mems).not.toBe('');
    expect(mems).toBe(read(join(mountOf('cpuset'), 'cpuset.mems')));
    const devices = read(join(dirOf('devices'), 'devices.list')).split('\n');
    expect(devices).not.toContain('a *:* rwm');
    expect(devices.sort()).toEqual([...V1_DEVICE_ALLOWLIST].sort());
    expect(await backend.list()).toEqual(['c1']);
  });

  it('updates live limits, keeping memsw in step when raising and lowering', async () => {
    const limit = (): number => Number(read(join(dirOf('memory'), 'memory.limit_in_bytes')));
    const memsw = (): number => Number(read(join(dirOf('memory'), 'memory.memsw.limit_in_bytes')));
    const swapLimit = backend.capabilities.swapLimit;

    await backend.update(handle, { memoryMax: 128 * MiB }); // raise: memsw must go first
    expect(limit()).toBe(128 * MiB);
    if (swapLimit) expect(memsw()).toBe(128 * MiB);

    await backend.update(handle, { memoryMax: 32 * MiB }); // lower: limit must go first
    expect(limit()).toBe(32 * MiB);
    if (swapLimit) expect(memsw()).toBe(32 * MiB);

    await backend.update(handle, { swap: true });
    expect(limit()).toBe(32 * MiB);
    if (swapLimit) expect(memsw()).toBeGreaterThan(2 ** 62); // "unlimited"
    expect(read(join(dirOf('memory'), 'memory.swappiness'))).toBe(read(join(parentOf('memory'), 'memory.swappiness')));

    await backend.update(handle, { pidsMax: null, cpuQuota: null, cpuWeight: 1 });
    expect(read(join(dirOf('pids'), 'pids.max'))).toBe('max');
    expect(read(join(dirOf('cpu'), 'cpu.cfs_quota_us'))).toBe('-1');
    expect(read(join(dirOf('cpu'), 'cpu.shares'))).toBe('10');
    await backend.update(handle, { cpuWeight: null, memoryLow: null });
    expect(read(join(dirOf('cpu'), 'cpu.shares'))).toBe('1024');
    expect(Number(read(join(dirOf('memory'), 'memory.soft_limit_in_bytes')))).toBeGreaterThan(2 ** 62);
  });

  it('rejects a cpuset outside the parent cpus, on update and on create (leaving nothing behind)', async () => {
    await expect(backend.update(handle, { cpuset: '8191' })).rejects.toThrow(InvalidArgumentError);
    expect(read(join(dirOf('cpuset'), 'cpuset.cpus'))).toBe('0');
    await expect(backend.create('c-bad', { cpuset: '8191' })).rejects.toThrow(/invalid cpuset "8191"/);
    for (const m of v1Mounts) expect(existsSync(join(m.point, PARENT, 'c-bad'))).toBe(false);
  });

  it('refuses to create an existing cgroup, opens existing ones, NotFoundError for missing ones', async () => {
    await expect(backend.create('c1', {})).rejects.toThrow(AlreadyExistsError);
    expect(read(join(dirOf('pids'), 'pids.max'))).toBe('max'); // untouched by the failed create
    await expect(backend.open('c1')).resolves.toEqual(handle);
    await expect(backend.open('missing')).rejects.toThrow(NotFoundError);
  });

  it('takes a real task: pids and stats see it', async () => {
    sleeper = new Sleeper();
    await sleeper.moveInto(handle.procsFiles);
    // one line per v1 hierarchy ("4:memory:/<parent>/c1"), plus "0::/..." for the unified one
    const v1Lines = read(`/proc/${sleeper.pid}/cgroup`)
      .split('\n')
      .filter((l) => !l.startsWith('0::'));
    expect(v1Lines).toHaveLength(v1Mounts.length);
    for (const line of v1Lines) expect(line).toMatch(new RegExp(`^\\d+:[^:]+:/${PARENT}/c1$`));
    expect(await backend.pids(handle)).toEqual([sleeper.pid]);
    const stats = await backend.stats(handle);
    expect(stats.pids).toBe(1);
    expect(stats.memoryCurrent).toBeGreaterThan(0);
    expect(stats.memoryPeak).toBeGreaterThanOrEqual(stats.memoryCurrent);
    expect(stats.cpuTimeNs).toBeGreaterThan(0);
    expect(stats.oomKills).toBe(0);
  });

  it('freezes and thaws the task', async () => {
    await backend.freeze(handle);
    expect(read(join(dirOf('freezer'), 'freezer.state'))).toBe('FROZEN');
    await backend.thaw(handle);
    expect(read(join(dirOf('freezer'), 'freezer.state'))).toBe('THAWED');
    expect(sleeper!.child.exitCode).toBeNull();
    expect(sleeper!.child.signalCode).toBeNull();
  });

  it('killAll SIGKILLs the task and empties the cgroup', async () => {
    await backend.killAll(handle);
    expect(await sleeper!.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await backend.pids(handle)).toEqual([]);
    expect(read(join(dirOf('freezer'), 'freezer.state'))).toBe('THAWED');
  });

  it('destroy removes the cgroup from every hierarchy, idempotently', async () => {
    await backend.destroy(handle);
    for (const p of handle.paths) expect(existsSync(p)).toBe(false);
    for (const m of v1Mounts) expect(existsSync(join(m.point, PARENT))).toBe(true);
    expect(await backend.list()).toEqual([]);
    await expect(backend.destroy(handle)).resolves.toBeUndefined();
  });
});

const v2SkipReason = !isRoot ? 'needs root' : !hasUnified ? `no cgroup2 mount at ${UNIFIED} (not a hybrid host)` : '';
const describeV2 = v2SkipReason ? describe.skip : describe;

describeV2(`CgroupV2Backend on the real controller-less ${UNIFIED}${v2SkipReason ? ` (SKIPPED: ${v2SkipReason})` : ''}`, () => {
  const [major, minor] = release().split('.').map(Number);
  const hasKillFile = major > 5 || (major === 5 && minor >= 14);
  const offered = read(join(UNIFIED, 'cgroup.controllers')).split(/\s+/);
  let backend: CgroupV2Backend;
  let handle: CgroupHandle;
  let sleeper: Sleeper | undefined;
  const dir = join(UNIFIED, PARENT, 'c1');

  beforeAll(() => {
    backend = new CgroupV2Backend({ root: UNIFIED, parent: PARENT });
  });

  afterAll(async () => {
    sleeper?.kill();
    await scrubParentEverywhere();
  });

  it('reports the controllers the mount offers (none of memory/cpu/cpuset/pids here)', () => {
    const caps = backend.capabilities;
    expect(caps).toMatchObject({ version: 'v2', devices: false, freezer: true, killAll: hasKillFile });
    expect(caps.memory).toBe(offered.includes('memory'));
    expect(caps.cpu).toBe(offered.includes('cpu'));
    expect(caps.pids).toBe(offered.includes('pids'));
    expect(caps.cpuset).toBe(offered.includes('cpuset'));
  });

  const itWithoutMemory = offered.includes('memory') ? it.skip : it;
  itWithoutMemory('refuses a memory limit with NotSupportedError and leaves nothing behind', async () => {
    await expect(backend.create('c1', { memoryMax: 64 * MiB })).rejects.toThrow(NotSupportedError);
    await expect(backend.create('c1', { memoryMax: 64 * MiB })).rejects.toThrow('memory');
    expect(existsSync(dir)).toBe(false);
  });

  it('creates and opens the cgroup; a limit update for a missing controller is NotSupportedError', async () => {
    handle = await backend.create('c1', {});
    expect(handle).toEqual({ name: 'c1', paths: [dir], procsFiles: [join(dir, 'cgroup.procs')], relativePath: `/${PARENT}/c1` });
    expect(existsSync(join(dir, 'cgroup.events'))).toBe(true);
    await expect(backend.open('c1')).resolves.toEqual(handle);
    await expect(backend.open('nope')).rejects.toThrow(NotFoundError);
    expect(backend.capabilities.memory).toBe(false);
    await expect(backend.update(handle, { memoryMax: 64 * MiB })).rejects.toThrow(/memory cgroup controller/);
    await expect(backend.update(handle, { pidsMax: 10 })).rejects.toThrow(/pids cgroup controller/);
  });

  it('takes a real task and freezes/thaws it (cgroup.events frozen 1/0)', async () => {
    sleeper = new Sleeper();
    await sleeper.moveInto(handle.procsFiles);
    expect(read(`/proc/${sleeper.pid}/cgroup`).split('\n')).toContain(`0::/${PARENT}/c1`);
    expect(await backend.pids(handle)).toEqual([sleeper.pid]);
    expect((await backend.stats(handle)).pids).toBe(1);

    await backend.freeze(handle);
    expect(read(join(dir, 'cgroup.events'))).toContain('frozen 1');
    await backend.thaw(handle);
    expect(read(join(dir, 'cgroup.events'))).toContain('frozen 0');
    expect(sleeper.child.exitCode).toBeNull();
  });

  it('killAll kills the task (cgroup.kill) and destroy removes the cgroup', async () => {
    await backend.killAll(handle);
    expect(await sleeper!.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(read(join(dir, 'cgroup.events'))).toContain('populated 0');
    await backend.destroy(handle);
    expect(existsSync(dir)).toBe(false);
    expect(await backend.list()).toEqual([]);
    await expect(backend.destroy(handle)).resolves.toBeUndefined();
  });
});
