/**
 * The runtime: spawns system containers through the native addon, re-adopts running ones after
 * a daemon restart, and keeps a table of the containers this process tracks. Injectable; the
 * engine (libs/instance) is its only caller.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { release } from 'node:os';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { AlreadyExistsError, InvalidArgumentError, NotSupportedError, Reverter, SystemError } from '@lodge/common';
import { CgroupBackend, CgroupHandle, DeviceRule, ResourceLimits, parseCpuList, probeCgroups, validateCgroupName, validateLimits, assertLimitsSupported } from './cgroup';
import { ContainerLimits, formatCpuList, onlineCpus, pickCpus } from './cpus/cpu-allocator';
import { capabilityNumbers, DEFAULT_DROPPED_CAPABILITIES } from './confinement/capabilities';
import { signalNumber } from './confinement/signals';
import { openConsoleLog } from './console/console-log';
import { Container, ContainerExit, ContainerRecord } from './container';
import { IdMapEntry, IdRange, firstFittingMap, formatIdMap, hostId, readSubordinateRanges, validateIdMap } from './idmap/idmap';
import { HostCgroupMount, readHostCgroupMounts } from './mounts/host-cgroup-mounts';
import { BindMount, buildMountPlan } from './mounts/system-mounts';
import { isNativeError, loadNativeAddon, NativeAddon, NativeSpawnResult } from './native/native-binding';
import { shiftOwnership } from './idmap/shift-ownership';

/** A container init held before it runs (see SpawnOptions.beforeInit). */
export interface HeldInit {
  /** host pid: /proc/<pid>/ns/* are its namespaces */
  pid: number;
}

export interface SpawnOptions {
  /** unique name; also the cgroup's name */
  name: string;
  /**
   * host path of the root filesystem (an unshifted image: owners 0..65535 as in the image); with
   * `rootfsOverlay`, the empty directory the overlay is mounted on (inside the container only)
   */
  rootfs: string;
  /**
   * Copy-on-write rootfs: `lower` (an unpacked image, shared by every container made from it and
   * never written) under the container's own `upper` layer (`work` on the same filesystem).
   * The lower layer is shown to an unprivileged container through an idmapped mount at
   * `lowerMount` (an empty directory); nothing is mounted on the host.
   */
  rootfsOverlay?: { lower: string; upper: string; work: string; lowerMount: string };
  /** init and its arguments (default /sbin/init) */
  init?: string[];
  /** init's environment, "KEY=value" (container=lxc and PATH are added unless given) */
  env?: string[];
  hostname?: string;
  /** no user namespace: container root is host root (explicit opt-in) */
  privileged?: boolean;
  /** unprivileged only; default: the first 65536 ids of root's subordinate ranges */
  uidMap?: IdMapEntry[];
  gidMap?: IdMapEntry[];
  /** join this network namespace (an open fd, e.g. of /run/netns/x) instead of creating one */
  netnsFd?: number;
  binds?: BindMount[];
  /** devices the container may open beyond the default list (their nodes come in through `binds`) */
  devices?: DeviceRule[];
  limits?: ContainerLimits;
  /** signal that asks init to halt: SIGUSR2 for busybox, SIGRTMIN+3 for systemd (default SIGPWR, as LXD) */
  haltSignal?: string | number;
  /** host path of the console log (init's stdout/stderr and /dev/console) */
  consoleLog?: string;
  /** capability names to drop in addition to the default set */
  dropCapabilities?: string[];
  /** default true */
  seccomp?: boolean;
  /** wait this long after exec and fail if init died in that time (default 0: return at once) */
  startupGraceMs?: number;
  /**
   * Runs once init's namespaces, id maps and cgroups exist and before anything of it runs (e.g.
   * NICs moved into its network namespace, there from init's first instruction). A rejection
   * ends the start: init is killed and nothing is left.
   */
  beforeInit?: (init: HeldInit) => Promise<void>;
  /**
   * How the rootfs owners are shifted for an unprivileged container: 'idmap' (idmapped mount, the
   * rootfs is never touched), 'chown' (a one-time recorded chown, for filesystems without
   * idmapped mounts), 'auto' (idmap, falling back to chown). Default 'auto'.
   */
  rootfsShift?: 'idmap' | 'chown' | 'auto';
}

export interface RuntimeOptions {
  cgroups?: CgroupBackend;
  /** /etc/subuid and /etc/subgid by default */
  subuidFile?: string;
  subgidFile?: string;
}

export const RUNTIME_OPTIONS = Symbol('RUNTIME_OPTIONS');

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const HOSTNAME_RE = /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})$/;

@Injectable()
export class RuntimeService {
  readonly cgroups: CgroupBackend;
  private readonly addon: NativeAddon;
  private readonly subuids: IdRange[];
  private readonly subgids: IdRange[];
  private readonly cgroupMounts: HostCgroupMount[];
  private readonly containers = new Map<string, Container>();

  constructor(@Optional() @Inject(RUNTIME_OPTIONS) options: RuntimeOptions = {}) {
    assertKernelSupported(release());
    this.addon = loadNativeAddon();
    this.cgroups = options.cgroups ?? probeCgroups();
    this.subuids = readSubordinateRanges(options.subuidFile ?? '/etc/subuid');
    this.subgids = readSubordinateRanges(options.subgidFile ?? '/etc/subgid');
    this.cgroupMounts = readHostCgroupMounts();
  }

  /** Containers this process tracks (spawned or adopted, still running). */
  list(): Container[] {
    return [...this.containers.values()];
  }

  get(name: string): Container | undefined {
    return this.containers.get(name);
  }

  /** Root's subordinate uid and gid ranges (/etc/subuid, /etc/subgid). */
  subordinateRanges(): { uid: IdRange[]; gid: IdRange[] } {
    return { uid: this.subuids.map((r) => ({ ...r })), gid: this.subgids.map((r) => ({ ...r })) };
  }

  /** The default id map for unprivileged containers: 65536 ids from root's subordinate ranges. */
  defaultIdMaps(): { uidMap: IdMapEntry[]; gidMap: IdMapEntry[] } {
    return { uidMap: firstFittingMap(this.subuids), gidMap: firstFittingMap(this.subgids) };
  }

  async spawn(o: SpawnOptions): Promise<Container> {
    const plan = this.validate(o);
    const r = new Reverter();
    try {
      const cgroup = await this.claimCgroup(o.name, plan.limits);
      r.push('cgroup', () => this.cgroups.destroy(cgroup));

      const owner = plan.userns
        ? { uid: hostId(plan.uidMap, 0)!, gid: hostId(plan.gidMap, 0)! }
        : { uid: 0, gid: 0 };
      if (plan.userns) await this.cgroups.delegate(cgroup, owner.uid, owner.gid);
      // before init joins the cgroup, so the devices are usable from its first instruction
      await this.cgroups.allowDevices(cgroup, o.devices ?? []);
      const log = o.consoleLog ? openConsoleLog(o.consoleLog, owner) : undefined;
      if (log) r.push('console log fd', () => this.addon.closeFd(log.fd));

      const mounts = buildMountPlan({
        privileged: !plan.userns,
        ownsNetworkNamespace: o.netnsFd === undefined,
        cgroupMounts: this.cgroupMounts,
        consoleLog: o.consoleLog,
        rootOwner: owner,
        binds: o.binds ?? [],
      });
      const spawnWith = (idmapRootfs: boolean) =>
        this.addon.spawn({
          rootfs: o.rootfs,
          argv: plan.init,
          env: plan.env,
          hostname: plan.hostname,
          userns: plan.userns,
          uidMap: plan.userns ? formatIdMap(plan.uidMap) : undefined,
          gidMap: plan.userns ? formatIdMap(plan.gidMap) : undefined,
          netnsFd: o.netnsFd,
          idmapRootfs,
          overlay: o.rootfsOverlay,
          rootUid: owner.uid,
          rootGid: owner.gid,
          mounts: mounts.mounts,
          cgroupProcs: [...cgroup.procsFiles],
          consoleFd: log?.fd,
          confine: plan.confine,
          hold: !!o.beforeInit,
        }).then((held) => this.runBeforeInit(held, o.beforeInit));

      let child: { pid: number; pidfd: number };
      const shift = o.rootfsShift ?? 'auto';
      try {
        if (plan.userns && shift === 'chown' && !o.rootfsOverlay) await shiftOwnership(o.rootfs, plan.uidMap, plan.gidMap);
        child = await spawnWith(plan.userns && shift !== 'chown' && !o.rootfsOverlay);
      } catch (err) {
        if (o.rootfsOverlay) throw err; // an overlay's image layer is never rewritten
        const noIdmap = isNativeError(err) && err.step.startsWith('mount_setattr(MOUNT_ATTR_IDMAP) rootfs') && ['EINVAL', 'EOPNOTSUPP', 'ENOTSUP', 'EPERM'].includes(err.code);
        if (!(noIdmap && shift === 'auto')) throw err;
        // This filesystem cannot do idmapped mounts: shift the owners once, then run plainly.
        await shiftOwnership(o.rootfs, plan.uidMap, plan.gidMap);
        child = await spawnWith(false);
      }
      r.push('init', () => {
        this.addon.pidfdSendSignal(child.pidfd, 9);
      });
      if (log) this.addon.closeFd(log.fd);

      const record: ContainerRecord = {
        name: o.name,
        pid: child.pid,
        startTime: readStartTime(child.pid) ?? '',
        userns: plan.userns,
        haltSignal: plan.haltSignal,
        dropCaps: plan.confine.dropCaps,
        seccomp: plan.confine.seccomp,
        consoleLog: o.consoleLog,
        env: plan.env,
        pinnedCpus: plan.pinnedCpus,
      };
      const container = this.track(record, child.pidfd, cgroup);
      r.commit();
      if (o.startupGraceMs) await this.awaitStartup(container, o.startupGraceMs);
      return container;
    } catch (err) {
      await r.revert();
      throw toDomainError(err);
    }
  }

  /**
   * Re-adopts a container spawned by an earlier process. Returns undefined (and removes its
   * leftover cgroup) when it is no longer running or the pid now belongs to someone else.
   */
  async adopt(record: ContainerRecord): Promise<Container | undefined> {
    validateCgroupName('container name', record.name);
    if (this.containers.has(record.name)) throw new AlreadyExistsError(`container "${record.name}" is already tracked`);
    let pidfd: number;
    try {
      pidfd = this.addon.pidfdOpen(record.pid);
    } catch {
      await this.removeLeftoverCgroup(record.name);
      return undefined;
    }
    // Checked after pidfd_open: from here on the pid cannot be reused under us.
    const ownedByUs = readStartTime(record.pid) === record.startTime && this.inCgroup(record.pid, record.name);
    if (!ownedByUs) {
      this.addon.closeFd(pidfd);
      await this.removeLeftoverCgroup(record.name);
      return undefined;
    }
    const cgroup = await this.cgroups.open(record.name);
    const c = this.track(record, pidfd, cgroup);
    if (await this.cgroups.isFrozen(cgroup).catch(() => false)) c.markFrozen();
    return c;
  }

  /**
   * Turns a cpuCount into a cpuset pinned to the least used CPUs (as LXD does with
   * limits.cpu=N). pinnedCpus: the new pin, null when unpinned, undefined when unchanged.
   */
  private cpuPins(self: Container | undefined, given: ContainerLimits): { limits: ResourceLimits; pinnedCpus?: string | null } {
    const { cpuCount, ...limits } = given;
    if (cpuCount === undefined) return { limits };
    if (limits.cpuset !== undefined) throw new InvalidArgumentError('give either cpuCount or cpuset, not both');
    if (cpuCount === null) return { limits: { ...limits, cpuset: null }, pinnedCpus: null };
    const others = this.list()
      .filter((c) => c !== self)
      .map((c) => c.describe().pinnedCpus)
      .filter((p): p is string => !!p)
      .map((p) => parseCpuList(p) ?? []);
    const cpuset = formatCpuList(pickCpus(cpuCount, onlineCpus(), others));
    return { limits: { ...limits, cpuset }, pinnedCpus: cpuset };
  }

  private track(record: ContainerRecord, pidfd: number, cgroup: Awaited<ReturnType<CgroupBackend['open']>>): Container {
    const c = new Container(
      this.addon,
      this.cgroups,
      record,
      pidfd,
      cgroup,
      (gone) => {
        if (this.containers.get(gone.name) === gone) this.containers.delete(gone.name);
      },
      (self, limits) => this.cpuPins(self, limits),
    );
    this.containers.set(record.name, c);
    return c;
  }

  private async awaitStartup(c: Container, graceMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([
      c.exited,
      new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), graceMs))),
    ]);
    clearTimeout(timer);
    if (settled) throw new SystemError('init', 'EXITED', `init of "${c.name}" ended right after start (${describeExit(settled)})`);
  }

  /**
   * Creates the container's cgroup. One of that name may be left behind when its removal failed
   * after a container ended: empty, it is removed and made anew; with processes in it, it belongs
   * to a container this process does not track, and the spawn is refused.
   */
  /** Runs the caller's step on a held init, then lets init go on; on failure init ends. */
  private async runBeforeInit(
    held: NativeSpawnResult,
    beforeInit: SpawnOptions['beforeInit'],
  ): Promise<{ pid: number; pidfd: number }> {
    if (held.hold === undefined || !beforeInit) return held;
    try {
      await beforeInit({ pid: held.pid });
    } catch (err) {
      this.addon.abortSpawn(held.hold);
      this.addon.closeFd(held.pidfd);
      throw err;
    }
    try {
      return await this.addon.resumeSpawn(held.hold);
    } catch (err) {
      this.addon.closeFd(held.pidfd);
      throw err;
    }
  }

  private async claimCgroup(name: string, limits: ResourceLimits): Promise<CgroupHandle> {
    try {
      return await this.cgroups.create(name, limits);
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
      const stale = await this.cgroups.open(name);
      if ((await this.cgroups.pids(stale)).length > 0) {
        throw new AlreadyExistsError(`container "${name}" is already running, but not tracked by this process (adopt it)`);
      }
      await this.cgroups.destroy(stale);
      return this.cgroups.create(name, limits);
    }
  }

  private async removeLeftoverCgroup(name: string): Promise<void> {
    try {
      const h = await this.cgroups.open(name);
      await this.cgroups.killAll(h);
      await this.cgroups.destroy(h);
    } catch {
      // no cgroup: nothing to remove
    }
  }

  private inCgroup(pid: number, name: string): boolean {
    try {
      return readFileSync(`/proc/${pid}/cgroup`, 'utf8')
        .split('\n')
        .some((l) => l.endsWith(`/${name}`));
    } catch {
      return false;
    }
  }

  private validate(o: SpawnOptions) {
    if (!o || typeof o !== 'object') throw new InvalidArgumentError('spawn options are required');
    validateCgroupName('container name', o.name);
    if (this.containers.has(o.name)) throw new AlreadyExistsError(`container "${o.name}" already exists`);
    if (typeof o.rootfs !== 'string' || !o.rootfs.startsWith('/')) throw new InvalidArgumentError('rootfs must be an absolute host path');
    if (!existsSync(o.rootfs) || !statSync(o.rootfs).isDirectory()) throw new InvalidArgumentError(`rootfs "${o.rootfs}" is not a directory`);
    if (o.rootfsOverlay) {
      for (const [what, p] of Object.entries(o.rootfsOverlay)) {
        if (typeof p !== 'string' || !p.startsWith('/')) throw new InvalidArgumentError(`rootfsOverlay.${what} must be an absolute host path`);
        if (/[,:\\]/.test(p)) throw new InvalidArgumentError(`rootfsOverlay.${what} must not contain ',', ':' or '\\' (overlayfs option syntax)`);
        if (!existsSync(p) || !statSync(p).isDirectory()) throw new InvalidArgumentError(`rootfsOverlay.${what} "${p}" is not a directory`);
      }
    }
    const init = o.init ?? ['/sbin/init'];
    if (!Array.isArray(init) || init.length === 0 || !init[0].startsWith('/')) throw new InvalidArgumentError('init must be an absolute path in the container');
    const hostname = o.hostname ?? o.name.slice(0, 63);
    if (!HOSTNAME_RE.test(hostname)) throw new InvalidArgumentError(`invalid hostname "${hostname}"`);
    const env = [...(o.env ?? [])];
    for (const e of env) if (typeof e !== 'string' || !/^[^=\0]+=/.test(e)) throw new InvalidArgumentError(`environment entries must be KEY=value, got "${e}"`);
    if (!env.some((e) => e.startsWith('PATH='))) env.push(DEFAULT_PATH);
    if (!env.some((e) => e.startsWith('container='))) env.push('container=lxc');
    const { limits, pinnedCpus } = this.cpuPins(undefined, o.limits ?? {});
    validateLimits(limits);
    assertLimitsSupported(limits, this.cgroups.capabilities);
    const userns = !o.privileged;
    let uidMap: IdMapEntry[] = [];
    let gidMap: IdMapEntry[] = [];
    if (userns) {
      const defaults = o.uidMap && o.gidMap ? undefined : this.defaultIdMaps();
      uidMap = o.uidMap ?? defaults!.uidMap;
      gidMap = o.gidMap ?? defaults!.gidMap;
      validateIdMap('uid', uidMap, this.subuids);
      validateIdMap('gid', gidMap, this.subgids);
      if (hostId(uidMap, 0) === undefined || hostId(gidMap, 0) === undefined) throw new InvalidArgumentError('the id maps must map container root (0)');
    } else if (o.uidMap || o.gidMap) {
      throw new InvalidArgumentError('a privileged container has no id map');
    }
    if (o.netnsFd !== undefined && (!Number.isInteger(o.netnsFd) || o.netnsFd < 0)) throw new InvalidArgumentError('netnsFd must be an open file descriptor');
    const haltSignal = signalNumber(o.haltSignal ?? 'SIGPWR');
    let dropCaps: number[];
    try {
      dropCaps = capabilityNumbers([...DEFAULT_DROPPED_CAPABILITIES, ...(o.dropCapabilities ?? [])]);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
    return {
      init, hostname, env, userns, uidMap, gidMap, haltSignal, limits, pinnedCpus: pinnedCpus ?? undefined,
      confine: { seccomp: o.seccomp ?? true, dropCaps },
    };
  }
}

/** Oldest kernel with everything the addon uses: clone3, pidfds (and setns through one),
 *  openat2, close_range and idmapped mounts (mount_setattr). */
export const MIN_KERNEL = [5, 12] as const;

export function assertKernelSupported(kernelRelease: string): void {
  const m = /^(\d+)\.(\d+)/.exec(kernelRelease);
  const [major, minor] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
  if (major < MIN_KERNEL[0] || (major === MIN_KERNEL[0] && minor < MIN_KERNEL[1])) {
    throw new NotSupportedError(`Lodge needs Linux ${MIN_KERNEL.join('.')} or newer (idmapped mounts, pidfds, clone3); this is ${kernelRelease}`);
  }
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks), parsed after the command name. */
export function readStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

function describeExit(e: ContainerExit): string {
  if (e.exitCode !== undefined) return `exit status ${e.exitCode}`;
  if (e.signal !== undefined) return `signal ${e.signal}`;
  return e.reason;
}

/** Native errors become SystemError ("pivot_root: EINVAL"); domain errors pass through. */
function toDomainError(err: unknown): unknown {
  if (isNativeError(err)) {
    if (err.step.startsWith('execve') && (err.code === 'ENOENT' || err.code === 'EACCES' || err.code === 'ENOEXEC')) {
      return new InvalidArgumentError(`cannot run init: ${err.message}`, { cause: err });
    }
    return new SystemError(err.step, err.code, undefined, { cause: err });
  }
  return err;
}
