/**
 * cgroup v1 backend (legacy and hybrid hosts): every controller hierarchy is its own mount
 * (`/sys/fs/cgroup/memory`, `/sys/fs/cgroup/cpu,cpuacct`, `/sys/fs/cgroup/systemd` for
 * name=systemd, ...). A container's cgroup is `<hierarchy>/<parent>/<name>` in every hierarchy,
 * `<parent>` being `lodge` unless overridden.
 *
 * The hierarchies are discovered once, in the constructor, from mountinfo; every operation then
 * works on all of them in parallel.
 */
import { existsSync, promises as fsp } from 'fs';
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
  writeLines,
  writeValue,
  OnceSetup,
  delegateCgroupDirs,
} from './cgroup-fs';
import { DEFAULT_CGROUP_TIMEOUT_MS, LODGE_CGROUP_PARENT } from './constants';
import { directReader, FileReader } from '../probes/pinned-files';

/** How long a freezer write may read back the old state before it is written again. */
const FREEZER_RETRY_MS = 100;
import type { ResourceLimits } from './limits';
import { assertCpusetSubset, assertLimitsSupported, nameOfHandle, validateCgroupName, validateLimits } from './limits-validate';
import { readMountInfo, V1Hierarchy, v1Hierarchies } from './mountinfo';

export interface CgroupV1Options {
  /** mountinfo to discover the hierarchies from (default /proc/self/mountinfo). Ignored with `hierarchies`. */
  mountinfoPath?: string;
  /** use these hierarchies instead of discovering them. */
  hierarchies?: readonly V1Hierarchy[];
  /** name of the parent cgroup below each hierarchy (default LODGE_CGROUP_PARENT, "lodge"). */
  parent?: string;
  /** bound for freeze / killAll / destroy waits in ms (default 5000). */
  timeoutMs?: number;
}

/** Devices a system container may use after `a` is denied (LXC's default allowlist plus fuse and tun). */
export const V1_DEVICE_ALLOWLIST: readonly string[] = [
  'c *:* m',
  'b *:* m',
  'c 1:3 rwm', // null
  'c 1:5 rwm', // zero
  'c 1:7 rwm', // full
  'c 1:8 rwm', // random
  'c 1:9 rwm', // urandom
  'c 5:0 rwm', // tty
  'c 5:1 rwm', // console
  'c 5:2 rwm', // ptmx
  'c 136:* rwm', // pts
  'c 10:229 rwm', // fuse
  'c 10:200 rwm', // tun
];

/** v1 memory files read "no limit" as PAGE_COUNTER_MAX * PAGE_SIZE (~2^63); anything this large is unlimited. */
const V1_UNLIMITED_THRESHOLD = 2 ** 62;

/** devices.list text equal to the allowlist (`exact`) or a subset of it (never the allow-all `a *:* rwm`). */
function sameDeviceList(text: string, exact: boolean): boolean {
  const lines = new Set(text.split('\n').map((l) => l.trim()).filter(Boolean));
  const allowed = new Set(V1_DEVICE_ALLOWLIST);
  for (const l of lines) if (!allowed.has(l)) return false;
  return !exact || lines.size === allowed.size;
}

const fmtV1 = (n: number): string => (n === Infinity ? '-1' : String(n));

async function readV1Limit(file: string): Promise<number> {
  const n = await readNumber(file);
  return n >= V1_UNLIMITED_THRESHOLD ? Infinity : n;
}

export class CgroupV1Backend implements CgroupBackend {
  readonly capabilities: CgroupCapabilities;
  /** the parent cgroup name below every hierarchy. */
  readonly parent: string;
  /** the hierarchies a container cgroup spans, as discovered. */
  readonly hierarchies: readonly V1Hierarchy[];

  private readonly mountOf: ReadonlyMap<string, string>;
  private readonly timeoutMs: number;
  /** creates the parent cgroup once per backend (again if it vanished) */
  private readonly parent_ = new OnceSetup(() => this.setupParent());
  /** the parent's device list already is the container policy, so new cgroups inherit it on mkdir. */
  private devicesInherited = false;

  /** Discovers the v1 hierarchies (sync, one read of mountinfo); throws NotSupportedError when none is mounted. */
  constructor(opts: CgroupV1Options = {}) {
    this.parent = opts.parent ?? LODGE_CGROUP_PARENT;
    validateCgroupName('cgroup parent', this.parent);
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_CGROUP_TIMEOUT_MS;
    this.hierarchies = Object.freeze([...(opts.hierarchies ?? v1Hierarchies(readMountInfo(opts.mountinfoPath)))]);
    if (this.hierarchies.length === 0) throw new NotSupportedError('cgroup v1: no controller hierarchy is mounted');
    const mountOf = new Map<string, string>();
    for (const h of this.hierarchies) for (const c of h.controllers) if (!mountOf.has(c)) mountOf.set(c, h.mountPoint);
    this.mountOf = mountOf;
    const memory = mountOf.get('memory');
    this.capabilities = Object.freeze({
      version: 'v1' as const,
      memory: memory !== undefined,
      swapLimit: memory !== undefined && existsSync(join(memory, 'memory.memsw.limit_in_bytes')),
      cpu: mountOf.has('cpu'),
      cpuset: mountOf.has('cpuset'),
      pids: mountOf.has('pids'),
      freezer: mountOf.has('freezer'),
      killAll: false,
      devices: mountOf.has('devices'),
    });
  }

  // ---- paths -------------------------------------------------------------------------------

  private dirIn(mountPoint: string, name: string): string {
    return join(mountPoint, this.parent, name);
  }

  /** the container's directory in the hierarchy carrying `controller`, if mounted. */
  private ctlDir(controller: string, name: string): string | undefined {
    const mount = this.mountOf.get(controller);
    return mount === undefined ? undefined : this.dirIn(mount, name);
  }

  private parentDir(controller: string): string {
    return join(this.mountOf.get(controller)!, this.parent);
  }

  private dirs(name: string): string[] {
    return this.hierarchies.map((h) => this.dirIn(h.mountPoint, name));
  }

  /** the hierarchy whose cgroup.procs answers pids(): pids, else freezer, else memory, else the first. */
  private primaryDir(name: string): string {
    const mount =
      this.mountOf.get('pids') ?? this.mountOf.get('freezer') ?? this.mountOf.get('memory') ?? this.hierarchies[0].mountPoint;
    return this.dirIn(mount, name);
  }

  private handleFor(name: string): CgroupHandle {
    const paths = Object.freeze(this.dirs(name));
    return Object.freeze({
      name,
      paths,
      procsFiles: Object.freeze(paths.map((p) => join(p, 'cgroup.procs'))),
      relativePath: `/${this.parent}/${name}`,
    });
  }


  // ---- parent ------------------------------------------------------------------------------


  private async setupParent(): Promise<void> {
    await settleAll(
      this.hierarchies.map(async (h) => {
        const dir = join(h.mountPoint, this.parent);
        await mkdirIfMissing(dir);
        if (h.controllers.includes('cpuset')) await this.setupCpusetParent(h.mountPoint, dir);
        if (h.controllers.includes('devices')) await this.setupDevicesParent(dir);
      }),
    );
  }

  /** A new cpuset cgroup starts with empty cpus/mems, so no task could join it: copy them from the
   *  hierarchy root once, and set clone_children so that container cgroups copy them on mkdir. */
  private async setupCpusetParent(root: string, dir: string): Promise<void> {
    const [cpus, mems, clone] = await Promise.all([
      readValue(join(dir, 'cpuset.cpus')),
      readValue(join(dir, 'cpuset.mems')),
      readValue(join(dir, 'cgroup.clone_children')),
    ]);
    const jobs: Promise<void>[] = [];
    if (cpus === '') jobs.push(readValue(join(root, 'cpuset.cpus')).then((v) => writeValue(join(dir, 'cpuset.cpus'), v)));
    if (mems === '') jobs.push(readValue(join(root, 'cpuset.mems')).then((v) => writeValue(join(dir, 'cpuset.mems'), v)));
    if (clone !== '1') jobs.push(writeValue(join(dir, 'cgroup.clone_children'), '1'));
    await settleAll(jobs);
  }

  /**
   * A new v1 devices cgroup copies its parent's behaviour and exception list, so the container
   * policy is put on the parent once and every container cgroup starts with it: no writes per
   * create. That needs a parent without children (the kernel refuses to change the default
   * behaviour of a cgroup that has children); when an existing parent has children and another list,
   * the policy is written per container instead.
   */
  private async setupDevicesParent(dir: string): Promise<void> {
    if (sameDeviceList(await readValue(join(dir, 'devices.list')), true)) {
      this.devicesInherited = true;
      return;
    }
    this.devicesInherited = false;
    if ((await listSubdirs(dir)).length > 0) return;
    await this.writeDevicePolicy(dir);
    // rules the grandparent does not permit were skipped, so a subset of the allowlist is fine here
    this.devicesInherited = sameDeviceList(await readValue(join(dir, 'devices.list')), false);
  }

  /** Deny everything, then allow the system-container list. An allow rule the parent does not permit
   *  (EPERM, e.g. when nested) is skipped: the container simply lacks that device. */
  private async writeDevicePolicy(dir: string): Promise<void> {
    await writeValue(join(dir, 'devices.deny'), 'a');
    await writeLines(join(dir, 'devices.allow'), V1_DEVICE_ALLOWLIST, (rule, err) => {
      if (isErrno(err, 'EPERM')) return;
      throw asSystemError(`allow device "${rule}"`, err, join(dir, 'devices.allow'));
    });
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  async create(name: string, limits: ResourceLimits): Promise<CgroupHandle> {
    validateCgroupName('cgroup name', name);
    validateLimits(limits);
    assertLimitsSupported(limits, this.capabilities);
    await this.parent_.run();

    const reverter = new Reverter();
    try {
      const made: string[] = [];
      reverter.push(`remove cgroup ${this.parent}/${name}`, () =>
        settleAll(made.map((d) => removeCgroupTree(d, Date.now()))),
      );
      const mkdirs = await Promise.allSettled(
        this.hierarchies.map(async (h) => {
          made.push(await this.mkdirChild(h.mountPoint, name));
        }),
      );
      const failed = mkdirs.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason);
      if (failed.length > 0) throw failed.find((e) => e instanceof AlreadyExistsError) ?? failed[0];

      await settleAll([this.setupDevices(name), this.applyLimits(name, limits, true)]);
      reverter.commit();
      return this.handleFor(name);
    } finally {
      await reverter.revert();
    }
  }

  private async mkdirChild(mountPoint: string, name: string): Promise<string> {
    const dir = this.dirIn(mountPoint, name);
    for (let attempt = 0; ; attempt++) {
      try {
        await fsp.mkdir(dir);
        return dir;
      } catch (err) {
        if (isErrno(err, 'EEXIST')) throw new AlreadyExistsError(`cgroup ${this.parent}/${name} already exists (${dir})`);
        if (!isErrno(err, 'ENOENT') || attempt > 0) throw asSystemError('mkdir', err, dir);
      }
      // the parent was removed behind our back: recreate it and retry once
      this.parent_.reset();
      await this.parent_.run();
    }
  }

  /** The container's device policy: inherited from the parent (see setupDevicesParent) or written here. */
  private async setupDevices(name: string): Promise<void> {
    const dir = this.ctlDir('devices', name);
    if (dir === undefined || this.devicesInherited) return;
    await this.writeDevicePolicy(dir);
  }

  async open(name: string): Promise<CgroupHandle> {
    validateCgroupName('cgroup name', name);
    const dirs = this.dirs(name);
    const present = await Promise.all(dirs.map(isDirectory));
    // A cgroup missing from some hierarchies (e.g. a crash during create) still opens, so that it can
    // be destroyed; operations on the missing hierarchies fail with ENOENT.
    if (!present.some(Boolean)) throw new NotFoundError(`cgroup ${this.parent}/${name} does not exist`);
    return this.handleFor(name);
  }

  async delegate(handle: CgroupHandle, uid: number, gid: number): Promise<void> {
    nameOfHandle(handle);
    await delegateCgroupDirs(handle.paths, ['cgroup.procs', 'tasks', 'cgroup.clone_children'], uid, gid);
  }

  /**
   * The kernel lets a cgroup allow only what its parent allows, so each rule goes to the lodge
   * parent first, then to the container. The parent then differs from the default policy, so
   * containers created later get the policy written (deny all, the default list) rather than
   * inheriting the parent's list with these extra devices.
   */
  async allowDevices(handle: CgroupHandle, rules: readonly DeviceRule[]): Promise<void> {
    const dir = this.ctlDir('devices', nameOfHandle(handle));
    if (dir === undefined || rules.length === 0) return;
    const lines = rules.map((r) => `${r.type} ${r.major}:${r.minor} rwm`);
    const parent = this.parentDir('devices');
    await writeLines(join(parent, 'devices.allow'), lines);
    if (!sameDeviceList(await readValue(join(parent, 'devices.list')), false)) this.devicesInherited = false;
    await writeLines(join(dir, 'devices.allow'), lines);
  }

  async destroy(handle: CgroupHandle): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    await settleAll(this.dirs(nameOfHandle(handle)).map((d) => removeCgroupTree(d, deadline)));
  }

  async list(): Promise<string[]> {
    const names = await Promise.all(this.hierarchies.map((h) => listSubdirs(join(h.mountPoint, this.parent))));
    return [...new Set(names.flat())].sort();
  }

  // ---- limits ------------------------------------------------------------------------------

  async update(handle: CgroupHandle, limits: ResourceLimits): Promise<void> {
    const name = nameOfHandle(handle);
    validateLimits(limits);
    assertLimitsSupported(limits, this.capabilities);
    await this.applyLimits(name, limits, false);
  }

  /** On create the cgroup is fresh (everything unlimited), so nulls and "unlimited" values are skipped. */
  private async applyLimits(name: string, limits: ResourceLimits, creating: boolean): Promise<void> {
    const jobs: Promise<void>[] = [];
    const { memoryMax, memoryLow, swap, cpuset, cpuQuota, cpuWeight, pidsMax } = limits;
    const memDir = this.ctlDir('memory', name);
    if (memDir !== undefined) {
      if (memoryLow !== undefined && !(creating && memoryLow === null)) {
        jobs.push(writeValue(join(memDir, 'memory.soft_limit_in_bytes'), memoryLow === null ? '-1' : String(memoryLow)));
      }
      if (memoryMax !== undefined || swap !== undefined) jobs.push(this.applyMemory(memDir, memoryMax, swap, creating));
    }
    const cpusetDir = this.ctlDir('cpuset', name);
    if (cpusetDir !== undefined && cpuset !== undefined && !(creating && cpuset === null)) {
      jobs.push(this.applyCpuset(cpusetDir, cpuset));
    }
    const cpuDir = this.ctlDir('cpu', name);
    if (cpuDir !== undefined) {
      if (cpuQuota !== undefined && !(creating && cpuQuota === null)) {
        jobs.push(
          cpuQuota === null
            ? writeValue(join(cpuDir, 'cpu.cfs_quota_us'), '-1')
            : writeValue(join(cpuDir, 'cpu.cfs_period_us'), String(cpuQuota.periodUs)).then(() =>
                writeValue(join(cpuDir, 'cpu.cfs_quota_us'), String(cpuQuota.quotaUs)),
              ),
        );
      }
      if (cpuWeight !== undefined && !(creating && cpuWeight === null)) {
        const shares = cpuWeight === null ? 1024 : Math.max(2, Math.round((cpuWeight * 1024) / 100));
        jobs.push(writeValue(join(cpuDir, 'cpu.shares'), String(shares)));
      }
    }
    const pidsDir = this.ctlDir('pids', name);
    if (pidsDir !== undefined && pidsMax !== undefined && !(creating && pidsMax === null)) {
      jobs.push(writeValue(join(pidsDir, 'pids.max'), pidsMax === null ? 'max' : String(pidsMax)));
    }
    await settleAll(jobs);
  }

  /**
   * memory.limit_in_bytes and memory.memsw.limit_in_bytes (memory+swap) must satisfy memsw >= limit
   * after every single write, so the order depends on the direction: lower the limit first when the
   * new limit fits below the current memsw, otherwise raise memsw first.
   *
   * Swap off means memsw == limit. When `swap` is not mentioned but swap is currently off (memsw
   * pinned to the limit), a new memory limit moves memsw along.
   */
  private async applyMemory(
    dir: string,
    memoryMax: number | null | undefined,
    swap: boolean | null | undefined,
    creating: boolean,
  ): Promise<void> {
    const limitFile = join(dir, 'memory.limit_in_bytes');
    const memswFile = join(dir, 'memory.memsw.limit_in_bytes');
    const hasMemsw = this.capabilities.swapLimit;

    let curLimit = Infinity;
    let curMemsw = Infinity;
    if (!creating) {
      [curLimit, curMemsw] = await Promise.all([
        readV1Limit(limitFile),
        hasMemsw ? readV1Limit(memswFile) : Promise.resolve(Infinity),
      ]);
    }
    const newLimit = memoryMax === undefined ? curLimit : memoryMax === null ? Infinity : memoryMax;
    const swapOff = swap === false || (swap === undefined && curMemsw !== Infinity && curMemsw === curLimit);
    let newMemsw: number | undefined; // undefined: leave alone
    if (hasMemsw) {
      if (swapOff) newMemsw = newLimit;
      else if (swap === true || swap === null) newMemsw = Infinity;
    }

    const writeLimit = async (): Promise<void> => {
      if (memoryMax !== undefined && newLimit !== curLimit) await writeValue(limitFile, fmtV1(newLimit));
    };
    const writeMemsw = async (): Promise<void> => {
      if (newMemsw !== undefined && newMemsw !== curMemsw) await writeValue(memswFile, fmtV1(newMemsw));
    };
    const limitWrites = async (): Promise<void> => {
      if (newLimit <= curMemsw) {
        await writeLimit();
        await writeMemsw();
      } else {
        await writeMemsw();
        await writeLimit();
      }
    };
    const swappiness = async (): Promise<void> => {
      const file = join(dir, 'memory.swappiness');
      if (swap === false) await writeValue(file, '0');
      else if (!creating && (swap === true || swap === null)) {
        await writeValue(file, await readValue(join(this.parentDir('memory'), 'memory.swappiness')));
      }
    };
    await settleAll([limitWrites(), swappiness()]);
  }

  private async applyCpuset(dir: string, cpuset: string | null): Promise<void> {
    const available = await readValue(join(this.parentDir('cpuset'), 'cpuset.cpus'));
    if (cpuset !== null) assertCpusetSubset(cpuset, available);
    await writeValue(join(dir, 'cpuset.cpus'), cpuset ?? available);
  }

  // ---- runtime -----------------------------------------------------------------------------

  async stats(handle: CgroupHandle, reader: FileReader = directReader): Promise<CgroupStats> {
    const name = nameOfHandle(handle);
    const mem = this.ctlDir('memory', name);
    const cpuacct = this.ctlDir('cpuacct', name);
    const pids = this.ctlDir('pids', name);
    const swap = this.capabilities.swapLimit;
    const usage = mem ? readNumberWith(reader, join(mem, 'memory.usage_in_bytes')) : 0;
    const peak = mem ? readNumberWith(reader, join(mem, 'memory.max_usage_in_bytes'), 0) : 0;
    const memswUsage = mem && swap ? readNumberWith(reader, join(mem, 'memory.memsw.usage_in_bytes'), 0) : 0;
    const oomControl = mem ? reader.read(join(mem, 'memory.oom_control')) : undefined;
    const cpu = cpuacct ? readNumberWith(reader, join(cpuacct, 'cpuacct.usage')) : 0;
    const tasks = pids ? readNumberWith(reader, join(pids, 'pids.current')) : (await this.pids(handle)).length;
    return {
      memoryCurrent: usage,
      memoryPeak: peak,
      swapCurrent: mem && swap ? Math.max(0, memswUsage - usage) : 0,
      cpuTimeNs: cpu,
      pids: tasks,
      oomKills: parseKeyed(oomControl).get('oom_kill') ?? 0,
    };
  }

  async pids(handle: CgroupHandle): Promise<number[]> {
    const pids = await readProcsTree(this.primaryDir(nameOfHandle(handle)));
    return [...new Set(pids)].sort((a, b) => a - b);
  }

  async isFrozen(handle: CgroupHandle): Promise<boolean> {
    const dir = this.ctlDir('freezer', nameOfHandle(handle));
    if (dir === undefined) return false;
    const state = await readOptional(join(dir, 'freezer.state'));
    return state === 'FROZEN' || state === 'FREEZING';
  }

  async freeze(handle: CgroupHandle): Promise<void> {
    await this.setFreezer(nameOfHandle(handle), 'FROZEN', this.timeoutMs);
  }

  async thaw(handle: CgroupHandle): Promise<void> {
    await this.setFreezer(nameOfHandle(handle), 'THAWED', this.timeoutMs);
  }

  /**
   * Writes freezer.state and waits until it reads back (FREEZING turns FROZEN once every task
   * stopped; reading the file is what lets the kernel notice). A freeze that times out is undone.
   *
   * FROZEN is written again every 100 ms while the state reads FREEZING: the kernel asks each task
   * to freeze only when FROZEN is written, and a task that was running in the kernel then and went
   * to sleep afterwards (seen: busybox init waiting in vfork for a child that did freeze) is never
   * asked again, so the cgroup stays FREEZING for good. runc and LXC retry the same way.
   */
  private async setFreezer(name: string, state: 'FROZEN' | 'THAWED', timeoutMs: number): Promise<void> {
    const dir = this.ctlDir('freezer', name);
    if (dir === undefined) throw new NotSupportedError('freeze: the freezer cgroup controller is not available on this host (cgroup v1)');
    const file = join(dir, 'freezer.state');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await writeValue(file, state);
      const remaining = deadline - Date.now();
      if (await pollUntil(async () => (await readValue(file)) === state, Math.max(0, Math.min(FREEZER_RETRY_MS, remaining)))) return;
      if (Date.now() >= deadline) break;
    }
    if (state === 'FROZEN') await writeValue(file, 'THAWED').catch(() => undefined);
    throw new SystemError(state === 'FROZEN' ? 'freeze' : 'thaw', 'ETIMEDOUT', `${file} did not read ${state} within ${timeoutMs} ms`);
  }

  /**
   * SIGKILLs every task in every hierarchy (descendant cgroups included) until none is left. With a
   * freezer the cgroup is frozen first, so nothing can fork between reading cgroup.procs and the
   * kill; the killed tasks die once thawed.
   */
  async killAll(handle: CgroupHandle): Promise<void> {
    const name = nameOfHandle(handle);
    const dirs = this.dirs(name);
    const deadline = Date.now() + this.timeoutMs;
    const readAll = async (): Promise<number[]> => [...new Set((await Promise.all(dirs.map(readProcsTree))).flat())];

    let pids = await readAll();
    if (pids.length === 0) return;
    let frozen = false;
    if (this.capabilities.freezer) {
      try {
        await this.setFreezer(name, 'FROZEN', Math.min(1000, this.timeoutMs));
        frozen = true;
        pids = await readAll();
      } catch {
        // a task that cannot be frozen (e.g. stuck in the kernel): kill without the freezer
      }
    }
    try {
      let delay = 1;
      while (pids.length > 0) {
        killPids(pids);
        if (frozen) {
          await this.setFreezer(name, 'THAWED', this.timeoutMs);
          frozen = false;
        }
        if (Date.now() >= deadline) {
          throw new SystemError('kill', 'ETIMEDOUT', `${pids.length} task(s) still in ${handle.relativePath} after ${this.timeoutMs} ms`);
        }
        await sleep(delay);
        delay = Math.min(delay * 2, 25);
        pids = await readAll();
      }
    } finally {
      if (frozen) await this.setFreezer(name, 'THAWED', this.timeoutMs).catch(() => undefined);
    }
  }
}
