/**
 * One interface over cgroup v1 (per-controller hierarchies, as on hybrid hosts) and
 * cgroup v2 (the unified hierarchy). The runtime picks a backend by probing the host
 * once at start (see probe.ts) and never branches on the version elsewhere: callers
 * look at `capabilities` instead.
 */
import type { FileReader } from '../probes/pinned-files';
import { ResourceLimits } from './limits';

export interface CgroupCapabilities {
  /** 'v1' or 'v2': for logs and diagnostics only, never for branching. */
  readonly version: 'v1' | 'v2';
  /** memory limits can be set (memory controller available). */
  readonly memory: boolean;
  /** swap can be limited/switched off (memsw files on v1, memory.swap.max on v2). */
  readonly swapLimit: boolean;
  /** cpu quota/period and weight/shares. */
  readonly cpu: boolean;
  /** cpuset pinning. */
  readonly cpuset: boolean;
  /** pids.max. */
  readonly pids: boolean;
  /** freezer (v1 freezer controller, or v2 cgroup.freeze). */
  readonly freezer: boolean;
  /** a whole cgroup can be killed at once (v2 cgroup.kill). */
  readonly killAll: boolean;
  /** the device allowlist can be enforced (v1 devices controller). */
  readonly devices: boolean;
}

export interface CgroupStats {
  /** bytes currently charged (v1 memory.usage_in_bytes, v2 memory.current). */
  memoryCurrent: number;
  /** highest bytes charged since creation (v1 memory.max_usage_in_bytes, v2 memory.peak); 0 if unknown. */
  memoryPeak: number;
  /** swap bytes in use, 0 when unknown. */
  swapCurrent: number;
  /** cumulative cpu time in nanoseconds (v1 cpuacct.usage, v2 cpu.stat usage_usec * 1000). */
  cpuTimeNs: number;
  /** processes in the cgroup (pids.current). */
  pids: number;
  /** times the memory limit was hit and the OOM killer ran (v1 memory.oom_control oom_kill, v2 memory.events oom_kill). */
  oomKills: number;
}

/** A container's cgroup: one directory per controller hierarchy (v1) or one directory (v2). */
export interface CgroupHandle {
  /** name of the container's cgroup below the lodge parent, e.g. "c1". */
  readonly name: string;
  /** absolute cgroup directories, one per mounted hierarchy that the handle uses. */
  readonly paths: readonly string[];
  /** the files a new task's pid is written to, to move it into the cgroup (every hierarchy's cgroup.procs). */
  readonly procsFiles: readonly string[];
  /** path of the cgroup inside the container's cgroup namespace root, as seen by the host (e.g. "/lodge/c1"). */
  readonly relativePath: string;
}

/** One device a container may open: its type and number, with read/write/mknod access. */
export interface DeviceRule {
  type: 'c' | 'b';
  major: number;
  minor: number;
}

export interface CgroupBackend {
  readonly capabilities: CgroupCapabilities;

  /** Create the container's cgroup below the lodge parent (creating the parent as needed) and apply limits.
   *  Fails with AlreadyExistsError if it already exists (re-adopt with open() instead); InvalidArgumentError
   *  for bad limits; NotSupportedError for a limit whose controller is unavailable (see capabilities).
   *  On failure nothing is left behind. */
  create(name: string, limits: ResourceLimits): Promise<CgroupHandle>;

  /** Open an existing cgroup (re-adoption after a daemon restart); throws if it does not exist. */
  open(name: string): Promise<CgroupHandle>;

  /** Apply limits to a live cgroup; only the keys present in `limits` change (undefined = leave alone,
   *  null = remove the limit). */
  update(handle: CgroupHandle, limits: ResourceLimits): Promise<void>;

  /** Read usage counters. */
  /** `reader`: how the counter files are read (a container passes its kept-open files). */
  stats(handle: CgroupHandle, reader?: FileReader): Promise<CgroupStats>;

  /** Whether the cgroup is frozen (or freezing): a re-adopted container may have been paused. */
  isFrozen(handle: CgroupHandle): Promise<boolean>;

  /** Freeze every task in the cgroup and resolve once the kernel reports it frozen. */
  freeze(handle: CgroupHandle): Promise<void>;
  thaw(handle: CgroupHandle): Promise<void>;

  /** pids of every task in the cgroup (host pid namespace). */
  pids(handle: CgroupHandle): Promise<number[]>;

  /** SIGKILL every task in the cgroup (cgroup.kill on v2, a loop over cgroup.procs on v1). */
  killAll(handle: CgroupHandle): Promise<void>;

  /**
   * Hand the cgroup to the container's root (host ids uid/gid), as LXD does: it may then create
   * and manage sub-cgroups (systemd inside does), while the cgroup's own limit files stay the
   * host's, so it can never raise its own limits.
   */
  delegate(handle: CgroupHandle, uid: number, gid: number): Promise<void>;

  /**
   * Lets the container use these devices beyond the system-container default list (its unix-char
   * / unix-block devices). v1: the devices controller's rules ("c 1:5 rwm"). v2 has no device
   * program in Lodge yet: nothing is filtered there, so nothing needs allowing.
   */
  allowDevices(handle: CgroupHandle, rules: readonly DeviceRule[]): Promise<void>;

  /** Remove the cgroup; waits (bounded, a few seconds) for it to become empty. Idempotent. */
  destroy(handle: CgroupHandle): Promise<void>;

  /** Names of all container cgroups that exist below the lodge parent (for leak checks and reconciliation). */
  list(): Promise<string[]>;
}
