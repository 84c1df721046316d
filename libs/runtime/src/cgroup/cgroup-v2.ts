/**
 * cgroup v2 backend: one unified hierarchy mounted at `root` (normally /sys/fs/cgroup). A
 * container's cgroup is `<root>/<parent>/<name>`, `<parent>` being `lodge` unless overridden.
 *
 * The backend enables memory, cpu, cpuset and pids for its children where the host offers them
 * (`cgroup.subtree_control` of the root, when permitted, and of the parent). Capabilities follow
 * what is really enabled: the constructor computes them from the parent's controllers (or the
 * root's, before the parent exists) and they are refined once the parent has been set up by the
 * first create()/update().
 */
import { existsSync, readFileSync, promises as fsp } from 'fs';
import { release } from 'os';
import { join } from 'path';
import { AlreadyExistsError, NotFoundError, NotSupportedError, Reverter, SystemError } from '@lodge/common';
import type { CgroupBackend, CgroupCapabilities, CgroupHandle, CgroupStats, DeviceRule } from './cgroup-backend';
import {
  asSystemError,
  isDirectory,
  isErrno,
  killPids,
  listSubdirs,
  mkdirIfMissing,
  parseKeyed,
  pollUntil,
  readNumber,
  readNumberWith,
  readOptional,
  readProcsTree,
  readValue,
  removeCgroupTree,
  settleAll,
  sleep,
  writeValue,
  OnceSetup,
  delegateCgroupDirs,
} from './cgroup-fs';
import { DEFAULT_CGROUP_TIMEOUT_MS, LODGE_CGROUP_PARENT } from './constants';
import { directReader, FileReader } from '../probes/pinned-files';
import type { ResourceLimits } from './limits';
import {
  assertCpusetSubset,
  assertLimitsSupported,
  LIMIT_CONTROLLER,
  validateCgroupName,
  validateLimits,
  nameOfHandle,
} from './limits-validate';

/** Controllers the runtime uses, in the order they are enabled. */
export const V2_CONTROLLERS = ['memory', 'cpu', 'cpuset', 'pids'] as const;

/**
 * Test seam for a fake cgroup tree in a plain directory. On cgroupfs the kernel creates a cgroup's
 * interface files on mkdir, removes them on rmdir and reacts to writes (subtree_control reads back
 * the enabled set, cgroup.freeze updates cgroup.events); a fake tree emulates that here. Production
 * code leaves it unset.
 */
export interface FakeKernelHooks {
  /** called right after the backend created a cgroup directory. */
  afterMkdir?(dir: string): void | Promise<void>;
  /** called right before each attempt to remove a cgroup directory. */
  beforeRmdir?(dir: string): void | Promise<void>;
  /** called after each successful write of an interface file. */
  afterWrite?(file: string, value: string): void | Promise<void>;
}

export interface CgroupV2Options {
  /** mount point of the unified hierarchy (default /sys/fs/cgroup). */
  root?: string;
  /** name of the parent cgroup below root (default LODGE_CGROUP_PARENT, "lodge"). */
  parent?: string;
  /** bound for freeze / killAll / destroy waits in ms (default 5000). */
  timeoutMs?: number;
  /** see FakeKernelHooks; tests only. */
  fakeKernel?: FakeKernelHooks;
}

function kernelAtLeast(major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release());
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a > major || (a === major && b >= minor);
}

function readWordsSync(file: string): Set<string> {
  try {
    return new Set(readFileSync(file, 'utf8').split(/\s+/).filter(Boolean));
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return new Set();
    throw asSystemError('read cgroup.controllers', err, file);
  }
}

const words = (text: string | undefined): Set<string> => new Set((text ?? '').split(/\s+/).filter(Boolean));

export class CgroupV2Backend implements CgroupBackend {
  readonly root: string;
  readonly parent: string;

  private caps: CgroupCapabilities;
  private readonly timeoutMs: number;
  private readonly fake?: FakeKernelHooks;
  private readonly beforeRmdir?: (dir: string) => void | Promise<void>;
  /** creates the parent cgroup once per backend (again if it vanished) */
  private readonly parent_ = new OnceSetup(() => this.setupParent());

  /** Reads the existing parent's (else the root's) cgroup.controllers synchronously; touches nothing.
   *  Throws NotSupportedError when `root` is not a cgroup2 mount. */
  constructor(opts: CgroupV2Options = {}) {
    this.root = opts.root ?? '/sys/fs/cgroup';
    this.parent = opts.parent ?? LODGE_CGROUP_PARENT;
    validateCgroupName('cgroup parent', this.parent);
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_CGROUP_TIMEOUT_MS;
    this.fake = opts.fakeKernel;
    this.beforeRmdir = this.fake?.beforeRmdir?.bind(this.fake);
    if (!existsSync(join(this.root, 'cgroup.controllers'))) {
      throw new NotSupportedError(`cgroup v2: ${this.root} is not a cgroup2 mount (no cgroup.controllers)`);
    }
    const parentDir = join(this.root, this.parent);
    if (existsSync(join(parentDir, 'cgroup.controllers'))) {
      // what the existing parent offers: setupParent enables all of it in its subtree_control
      this.caps = this.capsFrom(readWordsSync(join(parentDir, 'cgroup.controllers')), parentDir);
    } else {
      // before the parent exists: what the root offers, i.e. what setupParent will try to enable
      this.caps = this.capsFrom(readWordsSync(join(this.root, 'cgroup.controllers')));
    }
  }

  get capabilities(): CgroupCapabilities {
    return this.caps;
  }

  /** `parentDir` given: probe the interface files the kernel created in it; otherwise guess from the kernel version. */
  private capsFrom(enabled: Set<string>, parentDir?: string): CgroupCapabilities {
    const memory = enabled.has('memory');
    return Object.freeze({
      version: 'v2' as const,
      memory,
      swapLimit: memory && (parentDir ? existsSync(join(parentDir, 'memory.swap.max')) : true),
      cpu: enabled.has('cpu'),
      cpuset: enabled.has('cpuset'),
      pids: enabled.has('pids'),
      freezer: parentDir ? existsSync(join(parentDir, 'cgroup.freeze')) : kernelAtLeast(5, 2),
      killAll: parentDir ? existsSync(join(parentDir, 'cgroup.kill')) : kernelAtLeast(5, 14),
      devices: false,
    });
  }

  private async write(file: string, value: string): Promise<void> {
    await writeValue(file, value);
    await this.fake?.afterWrite?.(file, value);
  }

  // ---- paths -------------------------------------------------------------------------------

  private get parentDir(): string {
    return join(this.root, this.parent);
  }

  private dirOf(name: string): string {
    return join(this.root, this.parent, name);
  }

  private handleFor(name: string): CgroupHandle {
    const dir = this.dirOf(name);
    return Object.freeze({
      name,
      paths: Object.freeze([dir]),
      procsFiles: Object.freeze([join(dir, 'cgroup.procs')]),
      relativePath: `/${this.parent}/${name}`,
    });
  }


  // ---- parent ------------------------------------------------------------------------------


  private async setupParent(): Promise<void> {
    // The root may refuse (a delegated subtree with processes in it: EBUSY; no delegation: EACCES);
    // then the parent simply gets what is already enabled.
    await this.enableControllers(this.root);
    if (await mkdirIfMissing(this.parentDir)) await this.fake?.afterMkdir?.(this.parentDir);
    await this.enableControllers(this.parentDir);
    const enabled = words(await readValue(join(this.parentDir, 'cgroup.subtree_control')));
    this.caps = this.capsFrom(enabled, this.parentDir);
  }

  /**
   * Enables the wanted controllers that `dir` offers in its subtree_control: all at once, and one by
   * one if that fails (so one refusing controller does not cost the others). Never throws for a
   * refused controller: the capabilities then say it is missing, and a limit that needs it is a
   * NotSupportedError naming it.
   */
  private async enableControllers(dir: string): Promise<void> {
    const [offered, enabled] = await Promise.all([
      readValue(join(dir, 'cgroup.controllers')).then(words),
      readValue(join(dir, 'cgroup.subtree_control')).then(words),
    ]);
    const missing = V2_CONTROLLERS.filter((c) => offered.has(c) && !enabled.has(c));
    if (missing.length === 0) return;
    const file = join(dir, 'cgroup.subtree_control');
    try {
      await this.write(file, missing.map((c) => `+${c}`).join(' '));
      return;
    } catch {
      if (missing.length === 1) return;
    }
    for (const c of missing) {
      await this.write(file, `+${c}`).catch(() => undefined);
    }
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  async create(name: string, limits: ResourceLimits): Promise<CgroupHandle> {
    validateCgroupName('cgroup name', name);
    validateLimits(limits);
    await this.parent_.run();
    this.assertSupported(limits);

    const dir = this.dirOf(name);
    const reverter = new Reverter();
    try {
      await this.mkdirChild(dir, name);
      reverter.push(`remove cgroup ${this.parent}/${name}`, () =>
        removeCgroupTree(dir, Date.now(), this.beforeRmdir),
      );
      await this.fake?.afterMkdir?.(dir);
      await this.applyLimits(dir, limits, true);
      reverter.commit();
      return this.handleFor(name);
    } finally {
      await reverter.revert();
    }
  }

  private async mkdirChild(dir: string, name: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await fsp.mkdir(dir);
        return;
      } catch (err) {
        if (isErrno(err, 'EEXIST')) throw new AlreadyExistsError(`cgroup ${this.parent}/${name} already exists (${dir})`);
        if (!isErrno(err, 'ENOENT') || attempt > 0) throw asSystemError('mkdir', err, dir);
      }
      this.parent_.reset(); // the parent was removed behind our back
      await this.parent_.run();
    }
  }

  async open(name: string): Promise<CgroupHandle> {
    validateCgroupName('cgroup name', name);
    if (!(await isDirectory(this.dirOf(name)))) throw new NotFoundError(`cgroup ${this.parent}/${name} does not exist`);
    return this.handleFor(name);
  }

  /** Waits (bounded) until the cgroup reports `populated 0`, then removes it and any child cgroups. */
  async delegate(handle: CgroupHandle, uid: number, gid: number): Promise<void> {
    nameOfHandle(handle);
    await delegateCgroupDirs(handle.paths, ['cgroup.procs', 'cgroup.threads', 'cgroup.subtree_control'], uid, gid);
  }

  /** No device filtering on v2 yet (it needs a BPF program): every device is usable already. */
  async allowDevices(handle: CgroupHandle, rules: readonly DeviceRule[]): Promise<void> {
    void rules;
    nameOfHandle(handle);
  }

  async destroy(handle: CgroupHandle): Promise<void> {
    const dir = this.dirOf(nameOfHandle(handle));
    const deadline = Date.now() + this.timeoutMs;
    const events = join(dir, 'cgroup.events');
    let gone = false;
    const empty = await pollUntil(async () => {
      const text = await readOptional(events);
      gone = text === undefined;
      return gone || parseKeyed(text).get('populated') === 0;
    }, this.timeoutMs);
    if (gone) return;
    if (!empty) throw new SystemError('destroy', 'EBUSY', `${dir} still has tasks after ${this.timeoutMs} ms`);
    await removeCgroupTree(dir, deadline, this.beforeRmdir);
  }

  async list(): Promise<string[]> {
    return (await listSubdirs(this.parentDir)).sort();
  }

  // ---- limits ------------------------------------------------------------------------------

  async update(handle: CgroupHandle, limits: ResourceLimits): Promise<void> {
    const dir = this.dirOf(nameOfHandle(handle));
    validateLimits(limits);
    await this.parent_.run();
    this.assertSupported(limits);
    await this.applyLimits(dir, limits, false);
  }

  private assertSupported(limits: ResourceLimits): void {
    assertLimitsSupported(limits, this.caps);
    if (limits.swap === false && !this.caps.swapLimit) {
      throw new NotSupportedError('swap: memory.swap.max is not available (no swap accounting on this host, cgroup v2)');
    }
  }

  /** No ordering constraints on v2; on create nulls are skipped (a fresh cgroup has no limits). */
  private async applyLimits(dir: string, limits: ResourceLimits, creating: boolean): Promise<void> {
    // assertSupported let through only nulls / swap:true for missing controllers: nothing to do there
    const available = (key: keyof ResourceLimits): boolean =>
      key === 'swap' ? this.caps.swapLimit : this.caps[LIMIT_CONTROLLER[key]];
    const set = (key: keyof ResourceLimits, file: string, value: (v: never) => string, unset: string): void => {
      const v = limits[key];
      if (v === undefined || (creating && v === null) || !available(key)) return;
      jobs.push(this.write(join(dir, file), v === null ? unset : value(v as never)));
    };
    const jobs: Promise<void>[] = [];
    set('memoryMax', 'memory.max', (v: number) => String(v), 'max');
    set('memoryLow', 'memory.low', (v: number) => String(v), '0');
    set('swap', 'memory.swap.max', (v: boolean) => (v ? 'max' : '0'), 'max');
    set('cpuQuota', 'cpu.max', (v: { quotaUs: number; periodUs: number }) => `${v.quotaUs} ${v.periodUs}`, 'max');
    set('cpuWeight', 'cpu.weight', (v: number) => String(v), '100');
    set('pidsMax', 'pids.max', (v: number) => String(v), 'max');
    const cpuset = limits.cpuset;
    if (cpuset !== undefined && !(creating && cpuset === null) && available('cpuset')) {
      jobs.push(
        (async () => {
          if (cpuset !== null) {
            const available = await readOptional(join(this.parentDir, 'cpuset.cpus.effective'));
            if (available !== undefined) assertCpusetSubset(cpuset, available);
          }
          // an empty cpuset.cpus means "inherit the parent's"
          await this.write(join(dir, 'cpuset.cpus'), cpuset ?? '');
        })(),
      );
    }
    await settleAll(jobs);
  }

  // ---- runtime -----------------------------------------------------------------------------

  async stats(handle: CgroupHandle, reader: FileReader = directReader): Promise<CgroupStats> {
    const dir = this.dirOf(nameOfHandle(handle));
    const c = this.caps;
    const memoryCurrent = c.memory ? readNumberWith(reader, join(dir, 'memory.current')) : 0;
    const memoryPeak = c.memory ? readNumberWith(reader, join(dir, 'memory.peak'), 0) : 0;
    const swapCurrent = c.memory ? readNumberWith(reader, join(dir, 'memory.swap.current'), 0) : 0;
    const cpuStat = reader.read(join(dir, 'cpu.stat'));
    if (cpuStat === undefined) throw new SystemError('read cpu.stat', 'ENOENT', join(dir, 'cpu.stat'));
    const pids = c.pids ? readNumberWith(reader, join(dir, 'pids.current')) : (await this.pids(handle)).length;
    const memEvents = c.memory ? reader.read(join(dir, 'memory.events')) : undefined;
    return {
      memoryCurrent,
      memoryPeak,
      swapCurrent,
      cpuTimeNs: (parseKeyed(cpuStat).get('usage_usec') ?? 0) * 1000,
      pids,
      oomKills: parseKeyed(memEvents).get('oom_kill') ?? 0,
    };
  }

  async pids(handle: CgroupHandle): Promise<number[]> {
    const pids = await readProcsTree(this.dirOf(nameOfHandle(handle)));
    return [...new Set(pids)].sort((a, b) => a - b);
  }

  async isFrozen(handle: CgroupHandle): Promise<boolean> {
    return (await readOptional(join(this.dirOf(nameOfHandle(handle)), 'cgroup.freeze'))) === '1';
  }

  async freeze(handle: CgroupHandle): Promise<void> {
    await this.setFrozen(this.dirOf(nameOfHandle(handle)), true, this.timeoutMs);
  }

  async thaw(handle: CgroupHandle): Promise<void> {
    await this.setFrozen(this.dirOf(nameOfHandle(handle)), false, this.timeoutMs);
  }

  /** Writes cgroup.freeze and waits for cgroup.events to say `frozen 1` / `frozen 0`. A freeze that
   *  times out is undone. */
  private async setFrozen(dir: string, frozen: boolean, timeoutMs: number): Promise<void> {
    const freezeFile = join(dir, 'cgroup.freeze');
    try {
      await this.write(freezeFile, frozen ? '1' : '0');
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
      if (!(await isDirectory(dir))) throw new NotFoundError(`cgroup ${dir} does not exist`, { cause: err });
      throw new NotSupportedError('freeze: cgroup.freeze is not available (kernel older than 5.2)', { cause: err });
    }
    const want = frozen ? 1 : 0;
    const events = join(dir, 'cgroup.events');
    if (await pollUntil(async () => parseKeyed(await readValue(events)).get('frozen') === want, timeoutMs)) return;
    if (frozen) await this.write(freezeFile, '0').catch(() => undefined);
    throw new SystemError(frozen ? 'freeze' : 'thaw', 'ETIMEDOUT', `${events} did not show "frozen ${want}" within ${timeoutMs} ms`);
  }

  /**
   * cgroup.kill (Linux 5.14+) kills the whole subtree at once; then wait for `populated 0`. Older
   * kernels: freeze, SIGKILL every pid in the subtree, thaw, until none is left.
   */
  async killAll(handle: CgroupHandle): Promise<void> {
    const dir = this.dirOf(nameOfHandle(handle));
    const deadline = Date.now() + this.timeoutMs;
    let viaKillFile = true;
    try {
      await this.write(join(dir, 'cgroup.kill'), '1');
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
      if (!(await isDirectory(dir))) return; // nothing left to kill
      viaKillFile = false;
    }
    let delay = 1;
    for (;;) {
      const pids = await readProcsTree(dir);
      const populated = parseKeyed(await readOptional(join(dir, 'cgroup.events'))).get('populated');
      if (pids.length === 0 && populated !== 1) return;
      if (!viaKillFile && pids.length > 0) await this.killLoopRound(dir, pids);
      if (Date.now() >= deadline) {
        throw new SystemError('kill', 'ETIMEDOUT', `${pids.length} task(s) still in ${handle.relativePath} after ${this.timeoutMs} ms`);
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 25);
    }
  }

  private async killLoopRound(dir: string, pids: number[]): Promise<void> {
    let frozen = false;
    if (this.caps.freezer) {
      try {
        await this.setFrozen(dir, true, Math.min(1000, this.timeoutMs));
        frozen = true;
        pids = await readProcsTree(dir);
      } catch {
        // cannot freeze: kill without the freezer
      }
    }
    try {
      killPids(pids);
    } finally {
      if (frozen) await this.setFrozen(dir, false, this.timeoutMs);
    }
  }
}
