/**
 * Which cgroup filesystems the host has mounted, read once from /proc/self/mountinfo, so the
 * container gets the same layout inside its cgroup namespace.
 */
import { readFileSync } from 'node:fs';

export interface HostCgroupMount {
  /** "cgroup" (v1) or "cgroup2" */
  fstype: 'cgroup' | 'cgroup2';
  /** mount point on the host, e.g. /sys/fs/cgroup/memory */
  mountPoint: string;
  /** v1: the hierarchy's options to mount it again, e.g. "memory" or "none,name=systemd" */
  options: string;
}

const V1_OPTION_NAMES = new Set([
  'cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'net_cls', 'net_prio', 'blkio', 'pids',
  'perf_event', 'hugetlb', 'rdma', 'misc',
]);

export function readHostCgroupMounts(mountinfo = '/proc/self/mountinfo'): HostCgroupMount[] {
  const out: HostCgroupMount[] = [];
  for (const line of readFileSync(mountinfo, 'utf8').split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const [fstype, , superOptions = ''] = line.slice(sep + 3).split(' ');
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const mountPoint = left[4].replace(/\\040/g, ' ');
    if (fstype === 'cgroup2') {
      out.push({ fstype, mountPoint, options: '' });
      continue;
    }
    const opts = superOptions.split(',').filter((o) => V1_OPTION_NAMES.has(o) || o.startsWith('name='));
    if (opts.length === 0) continue;
    const named = opts.some((o) => o.startsWith('name='));
    out.push({ fstype, mountPoint, options: named && opts.length === 1 ? `none,${opts[0]}` : opts.join(',') });
  }
  return out;
}
