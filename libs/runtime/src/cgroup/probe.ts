/**
 * Picks the cgroup backend for this host. Synchronous: one read of mountinfo (plus a few small
 * reads in the chosen backend's constructor), done once at daemon start.
 *
 * Order:
 *  1. env LODGE_CGROUP=v1|v2 forces a version;
 *  2. `root` (default env LODGE_CGROUP_ROOT, else /sys/fs/cgroup) itself a cgroup2 mount -> v2 there;
 *  3. v1 controller hierarchies (memory, pids, cpu, ...) mounted -> v1. Hybrid hosts, whose
 *     /sys/fs/cgroup/unified is a cgroup2 mount without controllers, land here;
 *  4. some other cgroup2 mount -> v2 there; nothing -> NotSupportedError.
 * A forced v2 without a cgroup2 `root` uses the first cgroup2 mount (e.g. /sys/fs/cgroup/unified).
 */
import { InvalidArgumentError, NotSupportedError } from '@lodge/common';
import type { CgroupBackend } from './cgroup-backend';
import { CgroupV1Backend } from './cgroup-v1';
import { CgroupV2Backend } from './cgroup-v2';
import { LODGE_CGROUP_PARENT } from './constants';
import { cgroup2MountPoints, fsTypeAt, readMountInfo, v1Hierarchies } from './mountinfo';

export { LODGE_CGROUP_PARENT };

export const DEFAULT_CGROUP_ROOT = '/sys/fs/cgroup';

export interface ProbeOptions {
  /** default /proc/self/mountinfo. */
  mountinfoPath?: string;
  /** cgroup mount root; default env LODGE_CGROUP_ROOT, else /sys/fs/cgroup. */
  root?: string;
  /** parent cgroup name passed to the backend (default "lodge"; tests use a unique one). */
  parent?: string;
  /** wait bound passed to the backend. */
  timeoutMs?: number;
  /** environment to read LODGE_CGROUP / LODGE_CGROUP_ROOT from (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
}

/** The v1 controllers whose presence makes a host a v1 host. */
const V1_KEY_CONTROLLERS = ['memory', 'pids', 'cpu', 'cpuset', 'freezer'];

export function probeCgroups(opts: ProbeOptions = {}): CgroupBackend {
  const env = opts.env ?? process.env;
  const forced = env.LODGE_CGROUP || undefined;
  if (forced !== undefined && forced !== 'v1' && forced !== 'v2') {
    throw new InvalidArgumentError(`invalid LODGE_CGROUP ${JSON.stringify(forced)}: expected "v1" or "v2"`);
  }
  const root = opts.root ?? (env.LODGE_CGROUP_ROOT || DEFAULT_CGROUP_ROOT);
  const common = { parent: opts.parent, timeoutMs: opts.timeoutMs };
  const mounts = readMountInfo(opts.mountinfoPath);
  const rootIsV2 = fsTypeAt(mounts, root) === 'cgroup2';
  const v2Mounts = cgroup2MountPoints(mounts);
  const hierarchies = v1Hierarchies(mounts);
  const v2 = (at: string | undefined): CgroupBackend => {
    if (at === undefined) throw new NotSupportedError('cgroup v2 requested but no cgroup2 filesystem is mounted');
    return new CgroupV2Backend({ ...common, root: at });
  };
  const v1 = (): CgroupBackend => new CgroupV1Backend({ ...common, hierarchies });

  if (forced === 'v2') return v2(rootIsV2 ? root : v2Mounts[0]);
  if (forced === 'v1') return v1();
  if (rootIsV2) return v2(root);
  if (hierarchies.some((h) => h.controllers.some((c) => V1_KEY_CONTROLLERS.includes(c)))) return v1();
  if (v2Mounts.length > 0) return v2(v2Mounts[0]);
  throw new NotSupportedError('no usable cgroup hierarchy is mounted (neither cgroup2 nor v1 controllers)');
}
