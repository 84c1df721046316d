/**
 * Minimal /proc/<pid>/mountinfo parser, restricted to what the cgroup probe needs.
 * Format (proc(5)): `id parent major:minor root mountpoint mountopts [optional...] - fstype source superopts`.
 */
import { readFileSync } from 'fs';
import { SystemError } from '@lodge/common';

export interface MountInfoEntry {
  readonly mountId: number;
  readonly majorMinor: string;
  readonly root: string;
  readonly mountPoint: string;
  readonly fsType: string;
  readonly source: string;
  readonly superOptions: readonly string[];
}

/** A mounted cgroup v1 hierarchy: one mount, one or more controllers (`cpu,cpuacct`) or a name (`name=systemd`). */
export interface V1Hierarchy {
  readonly mountPoint: string;
  /** controllers bound to the hierarchy, e.g. ['cpu', 'cpuacct'] or ['name=systemd']. */
  readonly controllers: readonly string[];
}

/** Every controller a v1 hierarchy can carry (Linux 6.x); other super options (rw, xattr, ...) are ignored. */
export const V1_CONTROLLERS: ReadonlySet<string> = new Set([
  'blkio',
  'cpu',
  'cpuacct',
  'cpuset',
  'devices',
  'freezer',
  'hugetlb',
  'memory',
  'misc',
  'net_cls',
  'net_prio',
  'perf_event',
  'pids',
  'rdma',
]);

const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export function parseMountInfo(text: string): MountInfoEntry[] {
  const out: MountInfoEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (f.length < 7 || sep < 0 || sep + 2 >= f.length) continue;
    out.push({
      mountId: Number(f[0]),
      majorMinor: f[2],
      root: unescape(f[3]),
      mountPoint: unescape(f[4]),
      fsType: f[sep + 1],
      source: unescape(f[sep + 2]),
      superOptions: (f[sep + 3] ?? '').split(',').filter(Boolean),
    });
  }
  return out;
}

/** Reads and parses a mountinfo file synchronously (a single small read, done once per probe). */
export function readMountInfo(path = '/proc/self/mountinfo'): MountInfoEntry[] {
  try {
    return parseMountInfo(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new SystemError('read mountinfo', (err as NodeJS.ErrnoException).code ?? 'EIO', path, { cause: err });
  }
}

/** Mounts that are visible at their mount point: when a path is mounted over, the later entry wins. */
function visible(entries: readonly MountInfoEntry[]): MountInfoEntry[] {
  const byPoint = new Map<string, MountInfoEntry>();
  for (const e of entries) {
    byPoint.delete(e.mountPoint); // keep insertion order of the winner
    byPoint.set(e.mountPoint, e);
  }
  return [...byPoint.values()];
}

/** The cgroup v1 hierarchies, one entry per hierarchy (bind mounts of the same superblock are dropped). */
export function v1Hierarchies(entries: readonly MountInfoEntry[]): V1Hierarchy[] {
  const seen = new Set<string>();
  const out: V1Hierarchy[] = [];
  for (const e of visible(entries)) {
    if (e.fsType !== 'cgroup' || seen.has(e.majorMinor)) continue;
    const controllers = e.superOptions.filter((o) => V1_CONTROLLERS.has(o) || o.startsWith('name='));
    if (controllers.length === 0) continue;
    seen.add(e.majorMinor);
    out.push({ mountPoint: e.mountPoint, controllers });
  }
  return out;
}

/** Mount points of cgroup2 filesystems, in mount order. */
export function cgroup2MountPoints(entries: readonly MountInfoEntry[]): string[] {
  return visible(entries)
    .filter((e) => e.fsType === 'cgroup2')
    .map((e) => e.mountPoint);
}

/** The filesystem type mounted exactly at `path`, if any. */
export function fsTypeAt(entries: readonly MountInfoEntry[], path: string): string | undefined {
  return visible(entries).find((e) => e.mountPoint === path)?.fsType;
}
