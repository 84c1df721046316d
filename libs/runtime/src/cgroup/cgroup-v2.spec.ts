/**
 * CgroupV2Backend against a fake unified hierarchy in a temp dir. FakeKernel plays the kernel's
 * part through the backend's FakeKernelHooks seam: it creates a cgroup's interface files on mkdir
 * (only for the controllers the parent enabled), deletes them on rmdir, and reacts to writes like
 * cgroupfs does (subtree_control reads back the enabled set, cgroup.freeze updates cgroup.events).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync, existsSync } from 'fs';
import { tmpdir } from 'os';
import { basename, dirname, join, relative } from 'path';
import { AlreadyExistsError, InvalidArgumentError, NotFoundError, NotSupportedError, SystemError } from '@lodge/common';
import { CgroupV2Backend, FakeKernelHooks } from './cgroup-v2';

const MiB = 1024 * 1024;
const KERNEL_ORDER = ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids'];

class FakeKernel implements FakeKernelHooks {
  /** every write the backend made, as [path relative to root, value]. */
  readonly writes: Array<[string, string]> = [];
  /** when set, cgroup.freeze writes do not update cgroup.events (a task that never freezes). */
  freezeStuck = false;
  /** whether new cgroups get a cgroup.kill file (Linux >= 5.14). */
  killFile = true;

  constructor(
    readonly root: string,
    controllers: string[],
    private readonly cpus = '0-3',
  ) {
    this.put(root, {
      'cgroup.controllers': controllers.join(' '),
      'cgroup.subtree_control': '',
      'cgroup.procs': '',
      'cpu.stat': 'usage_usec 0\nuser_usec 0\nsystem_usec 0\n',
      'cpuset.cpus.effective': cpus,
    });
  }

  read(rel: string): string {
    return readFileSync(join(this.root, rel), 'utf8');
  }

  write(rel: string, value: string): void {
    writeFileSync(join(this.root, rel), value);
  }

  private put(dir: string, files: Record<string, string>): void {
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  }

  private words(file: string): string[] {
    return readFileSync(file, 'utf8').split(/\s+/).filter(Boolean);
  }

  afterMkdir(dir: string): void {
    const enabled = new Set(this.words(join(dirname(dir), 'cgroup.subtree_control')));
    const files: Record<string, string> = {
      'cgroup.controllers': KERNEL_ORDER.filter((c) => enabled.has(c)).join(' '),
      'cgroup.subtree_control': '',
      'cgroup.procs': '',
      'cgroup.events': 'populated 0\nfrozen 0\n',
      'cgroup.freeze': '0',
      'cpu.stat': 'usage_usec 0\nuser_usec 0\nsystem_usec 0\n',
    };
    if (this.killFile) files['cgroup.kill'] = '';
    if (enabled.has('memory')) {
      Object.assign(files, {
        'memory.max': 'max',
        'memory.low': '0',
        'memory.current': '0',
        'memory.peak': '0',
        'memory.swap.max': 'max',
        'memory.swap.current': '0',
        'memory.events': 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n',
      });
    }
    if (enabled.has('cpu')) Object.assign(files, { 'cpu.max': 'max 100000', 'cpu.weight': '100' });
    if (enabled.has('cpuset')) Object.assign(files, { 'cpuset.cpus': '', 'cpuset.cpus.effective': this.cpus });
    if (enabled.has('pids')) Object.assign(files, { 'pids.max': 'max', 'pids.current': '0' });
    this.put(dir, files);
  }

  beforeRmdir(dir: string): void {
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isFile()) unlinkSync(join(dir, e.name));
  }

  afterWrite(file: string, value: string): void {
    this.writes.push([relative(this.root, file), value]);
    const dir = dirname(file);
    if (basename(file) === 'cgroup.subtree_control') {
      // the write replaced the file; rebuild the enabled set the way the kernel reports it
      const offered = new Set(this.words(join(dir, 'cgroup.controllers')));
      const enabled = new Set(
        this.writes
          .filter(([f]) => f === relative(this.root, file))
          .flatMap(([, v]) => v.split(' '))
          .filter((t) => t.startsWith('+') && offered.has(t.slice(1)))
          .map((t) => t.slice(1)),
      );
      writeFileSync(file, KERNEL_ORDER.filter((c) => enabled.has(c)).join(' '));
    }
    if (basename(file) === 'cgroup.freeze' && !this.freezeStuck) {
      const populated = /populated (\d)/.exec(readFileSync(join(dir, 'cgroup.events'), 'utf8'))?.[1] ?? '0';
      writeFileSync(join(dir, 'cgroup.events'), `populated ${populated}\nfrozen ${value.trim()}\n`);
    }
  }
}

describe('CgroupV2Backend on a fake cgroup tree', () => {
  let root: string;
  let kernel: FakeKernel;
  let backend: CgroupV2Backend;

  function setup(controllers = ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids'], timeoutMs = 5000): void {
    kernel = new FakeKernel(root, controllers);
    backend = new CgroupV2Backend({ root, parent: 'lodge', timeoutMs, fakeKernel: kernel });
  }

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'lodge-cgv2-'));
    setup();
  });

  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('refuses a root that is not a cgroup2 mount', () => {
    const empty = mkdtempSync(join(tmpdir(), 'lodge-cgv2-empty-'));
    try {
      expect(() => new CgroupV2Backend({ root: empty })).toThrow(NotSupportedError);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('enables only the controllers the root offers and reports them as capabilities', async () => {
    setup(['cpu', 'io', 'pids']);
    await backend.create('c1', {});
    expect(kernel.writes).toEqual(
      expect.arrayContaining([
        ['cgroup.subtree_control', '+cpu +pids'],
        ['lodge/cgroup.subtree_control', '+cpu +pids'],
      ]),
    );
    expect(kernel.read('lodge/c1/cgroup.controllers')).toBe('cpu pids');
    expect(backend.capabilities).toMatchObject({ version: 'v2', memory: false, swapLimit: false, cpu: true, cpuset: false, pids: true });
    expect(backend.capabilities).toMatchObject({ freezer: true, killAll: true, devices: false });
  });

  it('creates <root>/lodge/<name> and writes the limits a user would read back', async () => {
    const handle = await backend.create('c1', {
      memoryMax: 256 * MiB,
      memoryLow: 64 * MiB,
      swap: false,
      cpuQuota: { quotaUs: 50000, periodUs: 100000 },
      cpuWeight: 50,
      pidsMax: 100,
      cpuset: '1-2',
    });
    const dir = join(root, 'lodge', 'c1');
    expect(handle).toEqual({ name: 'c1', paths: [dir], procsFiles: [join(dir, 'cgroup.procs')], relativePath: '/lodge/c1' });
    expect(kernel.read('lodge/c1/memory.max')).toBe(String(256 * MiB));
    expect(kernel.read('lodge/c1/memory.low')).toBe(String(64 * MiB));
    expect(kernel.read('lodge/c1/memory.swap.max')).toBe('0');
    expect(kernel.read('lodge/c1/cpu.max')).toBe('50000 100000');
    expect(kernel.read('lodge/c1/cpu.weight')).toBe('50');
    expect(kernel.read('lodge/c1/pids.max')).toBe('100');
    expect(kernel.read('lodge/c1/cpuset.cpus')).toBe('1-2');
    expect(kernel.read('lodge/cgroup.subtree_control')).toBe('cpuset cpu memory pids');
    expect(await backend.list()).toEqual(['c1']);
  });

  it('leaves unmentioned limits at the kernel defaults on create', async () => {
    await backend.create('c1', { pidsMax: 10 });
    expect(kernel.read('lodge/c1/memory.max')).toBe('max');
    expect(kernel.read('lodge/c1/cpu.max')).toBe('max 100000');
    expect(kernel.read('lodge/c1/memory.swap.max')).toBe('max');
    expect(kernel.writes.filter(([f]) => f.startsWith('lodge/c1/'))).toEqual([['lodge/c1/pids.max', '10']]);
  });

  it('update changes only the mentioned keys; null removes a limit', async () => {
    const h = await backend.create('c1', { memoryMax: 256 * MiB, swap: false, cpuQuota: { quotaUs: 50000, periodUs: 100000 }, pidsMax: 100, cpuWeight: 50 });
    await backend.update(h, { memoryMax: 512 * MiB });
    expect(kernel.read('lodge/c1/memory.max')).toBe(String(512 * MiB));
    expect(kernel.read('lodge/c1/memory.swap.max')).toBe('0');
    expect(kernel.read('lodge/c1/pids.max')).toBe('100');

    await backend.update(h, { memoryMax: null, swap: true, cpuQuota: null, pidsMax: null, cpuWeight: null, cpuset: null });
    expect(kernel.read('lodge/c1/memory.max')).toBe('max');
    expect(kernel.read('lodge/c1/memory.swap.max')).toBe('max');
    expect(kernel.read('lodge/c1/cpu.max')).toBe('max');
    expect(kernel.read('lodge/c1/pids.max')).toBe('max');
    expect(kernel.read('lodge/c1/cpu.weight')).toBe('100');
    expect(kernel.read('lodge/c1/cpuset.cpus')).toBe('');
  });

  it('rejects an existing cgroup with AlreadyExistsError and leaves it alone', async () => {
    await backend.create('c1', { pidsMax: 7 });
    await expect(backend.create('c1', { pidsMax: 8 })).rejects.toThrow(AlreadyExistsError);
    expect(kernel.read('lodge/c1/pids.max')).toBe('7');
  });

  it('rejects bad limits before touching the tree', async () => {
    await expect(backend.create('c1', { memoryMax: 1024 })).rejects.toThrow(InvalidArgumentError);
    await expect(backend.create('../x', {})).rejects.toThrow(InvalidArgumentError);
    expect(existsSync(join(root, 'lodge', 'c1'))).toBe(false);
  });

  it('rejects a cpuset outside the parent cpus and removes the half-made cgroup', async () => {
    await expect(backend.create('c1', { cpuset: '2-5' })).rejects.toThrow('cpus 4,5 are not available');
    expect(existsSync(join(root, 'lodge', 'c1'))).toBe(false);
    expect(await backend.list()).toEqual([]);
  });

  it('throws NotSupportedError naming the controller that is missing', async () => {
    setup(['cpu', 'pids']);
    await expect(backend.create('c1', { memoryMax: 64 * MiB })).rejects.toThrow(NotSupportedError);
    await expect(backend.create('c1', { memoryMax: 64 * MiB })).rejects.toThrow('memory cgroup controller');
    expect(existsSync(join(root, 'lodge', 'c1'))).toBe(false);
    const h = await backend.create('c1', { pidsMax: 5 });
    await expect(backend.update(h, { cpuset: '0' })).rejects.toThrow('cpuset cgroup controller');
    await expect(backend.update(h, { memoryMax: null, swap: true })).resolves.toBeUndefined();
  });

  it('opens an existing cgroup and throws NotFoundError for a missing one', async () => {
    const created = await backend.create('c1', {});
    await expect(backend.open('c1')).resolves.toEqual(created);
    await expect(backend.open('c2')).rejects.toThrow(NotFoundError);
  });

  it('reads stats from memory.current, memory.peak, memory.swap.current, cpu.stat, pids.current, memory.events', async () => {
    const h = await backend.create('c1', {});
    kernel.write('lodge/c1/memory.current', '1234567\n');
    kernel.write('lodge/c1/memory.peak', '2345678\n');
    kernel.write('lodge/c1/memory.swap.current', '4096\n');
    kernel.write('lodge/c1/cpu.stat', 'usage_usec 250\nuser_usec 200\nsystem_usec 50\n');
    kernel.write('lodge/c1/pids.current', '3\n');
    kernel.write('lodge/c1/memory.events', 'low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\noom_group_kill 0\n');
    expect(await backend.stats(h)).toEqual({
      memoryCurrent: 1234567,
      memoryPeak: 2345678,
      swapCurrent: 4096,
      cpuTimeNs: 250000,
      pids: 3,
      oomKills: 2,
    });
    unlinkSync(join(root, 'lodge/c1/memory.peak')); // kernels before 5.19
    expect((await backend.stats(h)).memoryPeak).toBe(0);
  });

  it('lists pids of the cgroup and its child cgroups', async () => {
    const h = await backend.create('c1', {});
    kernel.write('lodge/c1/cgroup.procs', '12\n34\n');
    mkdirSync(join(root, 'lodge/c1/init.scope'));
    kernel.write('lodge/c1/init.scope/cgroup.procs', '56\n');
    expect(await backend.pids(h)).toEqual([12, 34, 56]);
  });

  it('freezes and thaws through cgroup.freeze, waiting for cgroup.events', async () => {
    const h = await backend.create('c1', {});
    await backend.freeze(h);
    expect(kernel.read('lodge/c1/cgroup.freeze')).toBe('1');
    expect(kernel.read('lodge/c1/cgroup.events')).toContain('frozen 1');
    await backend.thaw(h);
    expect(kernel.read('lodge/c1/cgroup.freeze')).toBe('0');
    expect(kernel.read('lodge/c1/cgroup.events')).toContain('frozen 0');
  });

  it('gives up on a freeze that never completes, undoing it', async () => {
    setup(undefined, 50);
    const h = await backend.create('c1', {});
    kernel.freezeStuck = true;
    const err = await backend.freeze(h).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SystemError);
    expect((err as SystemError).errno).toBe('ETIMEDOUT');
    expect(kernel.read('lodge/c1/cgroup.freeze')).toBe('0');
  });

  it('kills through cgroup.kill when the kernel has it', async () => {
    const h = await backend.create('c1', {});
    await backend.killAll(h);
    expect(kernel.writes).toContainEqual(['lodge/c1/cgroup.kill', '1']);
  });

  it('falls back to the pid loop without cgroup.kill (nothing to kill here)', async () => {
    kernel.killFile = false;
    const h = await backend.create('c1', {});
    await expect(backend.killAll(h)).resolves.toBeUndefined();
    expect(kernel.writes.some(([f]) => f.endsWith('cgroup.kill'))).toBe(false);
  });

  it('destroys the cgroup (and child cgroups), idempotently', async () => {
    const h = await backend.create('c1', {});
    mkdirSync(join(root, 'lodge/c1/init.scope'));
    await backend.destroy(h);
    expect(existsSync(join(root, 'lodge', 'c1'))).toBe(false);
    expect(existsSync(join(root, 'lodge'))).toBe(true);
    await expect(backend.destroy(h)).resolves.toBeUndefined();
    expect(await backend.list()).toEqual([]);
  });

  it('refuses to destroy a cgroup that stays populated', async () => {
    setup(undefined, 50);
    const h = await backend.create('c1', {});
    kernel.write('lodge/c1/cgroup.events', 'populated 1\nfrozen 0\n');
    await expect(backend.destroy(h)).rejects.toThrow(SystemError);
    expect(existsSync(join(root, 'lodge', 'c1'))).toBe(true);
  });

  it('uses the parent name it was given', async () => {
    backend = new CgroupV2Backend({ root, parent: 'lodge-test-x', fakeKernel: kernel });
    const h = await backend.create('c9', {});
    expect(h.paths).toEqual([join(root, 'lodge-test-x', 'c9')]);
    expect(h.relativePath).toBe('/lodge-test-x/c9');
    expect(await backend.list()).toEqual(['c9']);
  });
});
