/**
 * The mount plan of a system container: what LXD users find inside (/proc, read-only /sys, the
 * cgroup tree of their own cgroup namespace, a tmpfs /dev with the standard nodes, a private
 * devpts, /dev/shm, /run) followed by the caller's bind mounts. The plan is data; the native
 * child executes it below the new root, resolving every target inside the root.
 */
import { statSync } from 'node:fs';
import { posix } from 'node:path';
import { InvalidArgumentError } from '@lodge/common';
import { MkdirKind, MountKind, MountStage, NativeMount } from '../native/native-binding';
import { HostCgroupMount } from './host-cgroup-mounts';

export const MS_RDONLY = 0x1;
export const MS_NOSUID = 0x2;
export const MS_NODEV = 0x4;
export const MS_NOEXEC = 0x8;
export const MS_RELATIME = 0x200000;

export interface BindMount {
  /** absolute host path */
  source: string;
  /** absolute path in the container */
  target: string;
  readonly?: boolean;
  /** also bind what is mounted below source */
  recursive?: boolean;
  /** present host ownership shifted into the container's id map (idmapped mount); unprivileged only */
  shift?: boolean;
}

export interface SystemMountOptions {
  privileged: boolean;
  /** false when the container joins a network namespace it does not own: sysfs cannot be mounted then. */
  ownsNetworkNamespace: boolean;
  cgroupMounts: readonly HostCgroupMount[];
  /** host path of the console log, bound onto /dev/console */
  consoleLog?: string;
  /** host ids of the container's root (tmpfs mounts made by the setup stage belong to it) */
  rootOwner: { uid: number; gid: number };
  binds: readonly BindMount[];
}

/** Character devices every system container has, bound from the host's /dev. */
const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

/** Read-only for privileged containers: the host's kernel knobs (unprivileged ones are protected by the user namespace). */
const PRIVILEGED_READONLY = ['/proc/sys', '/proc/sysrq-trigger', '/proc/irq', '/proc/bus'];

export interface MountPlan {
  mounts: NativeMount[];
}

/** Filesystems of the container's own namespaces: nothing may be bound into them. */
const CONTAINER_OWNED = ['/proc', '/sys', '/dev/pts', '/dev/mqueue'];

function checkContainerPath(p: string, what: string): string {
  if (!p.startsWith('/')) throw new InvalidArgumentError(`${what} must be an absolute path, got "${p}"`);
  if (p.includes('\0')) throw new InvalidArgumentError(`${what} must not contain NUL`);
  const norm = posix.normalize(p);
  if (norm === '/') throw new InvalidArgumentError(`${what} cannot be /`);
  return norm;
}

export function buildMountPlan(o: SystemMountOptions): MountPlan {
  const m: NativeMount[] = [];
  const owner = `uid=${o.rootOwner.uid},gid=${o.rootOwner.gid}`;
  const setup = (entry: Omit<NativeMount, 'stage'>): void => {
    m.push({ ...entry, stage: MountStage.Setup });
  };
  const container = (entry: Omit<NativeMount, 'stage'>): void => {
    m.push({ ...entry, stage: MountStage.Container });
  };
  const fs = (target: string, fstype: string, flags: number, data = '', source = fstype): void => {
    container({ kind: MountKind.Fs, source, target, fstype, flags, data, mkdir: MkdirKind.Dir });
  };
  /** A tmpfs made by the setup stage, owned by the container's root. */
  const tmpfs = (target: string, flags: number, data: string, source: string): void => {
    setup({ kind: MountKind.Fs, source, target, fstype: 'tmpfs', flags, data: `${data},${owner}`, mkdir: MkdirKind.Dir });
  };
  /** A bind of a host path, made by the setup stage as host root. */
  const hostBind = (source: string, target: string, extra: Partial<NativeMount> = {}): void => {
    setup({ kind: MountKind.Bind, source, target, mkdir: MkdirKind.File, ...extra });
  };

  // Setup stage: the tmpfs trees first, then what is bound into them and the caller's binds.
  tmpfs('/dev', MS_NOSUID | MS_NOEXEC, 'mode=755,size=65536k', 'none');
  for (const d of DEVICES) hostBind(`/dev/${d}`, `/dev/${d}`);
  if (o.consoleLog) hostBind(o.consoleLog, '/dev/console');
  tmpfs('/dev/shm', MS_NOSUID | MS_NODEV, 'mode=1777,size=65536k', 'shm');
  tmpfs('/run', MS_NOSUID | MS_NODEV, 'mode=755,size=65536k', 'tmpfs');
  for (const [name, to] of [['ptmx', 'pts/ptmx'], ['fd', '/proc/self/fd'], ['stdin', '/proc/self/fd/0'], ['stdout', '/proc/self/fd/1'], ['stderr', '/proc/self/fd/2']]) {
    setup({ kind: MountKind.Symlink, target: `/dev/${name}`, linkTo: to });
  }
  if (!o.ownsNetworkNamespace && !o.privileged) {
    // sysfs follows the network namespace's owner: bind the host's, read-only.
    hostBind('/sys', '/sys', { recursive: true, readonly: true, mkdir: MkdirKind.Dir });
  }
  for (const b of o.binds) {
    if (!b.source.startsWith('/')) throw new InvalidArgumentError(`bind source must be an absolute host path, got "${b.source}"`);
    const target = checkContainerPath(b.target, 'bind target');
    if (CONTAINER_OWNED.some((p) => target === p || target.startsWith(`${p}/`))) {
      throw new InvalidArgumentError(`bind target "${target}" is inside a filesystem of the container's own (${CONTAINER_OWNED.join(', ')})`);
    }
    let isDir: boolean;
    try {
      isDir = statSync(b.source).isDirectory();
    } catch {
      throw new InvalidArgumentError(`bind source "${b.source}" does not exist`);
    }
    hostBind(b.source, target, {
      readonly: !!b.readonly, recursive: !!b.recursive, mkdir: isDir ? MkdirKind.Dir : MkdirKind.File, idmap: !!b.shift && !o.privileged,
    });
  }

  // Container stage: filesystems that belong to the container's namespaces.
  fs('/proc', 'proc', MS_NOSUID | MS_NODEV | MS_NOEXEC);
  if (o.ownsNetworkNamespace || o.privileged) fs('/sys', 'sysfs', MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
  const v2 = o.cgroupMounts.find((c) => c.fstype === 'cgroup2' && c.mountPoint === '/sys/fs/cgroup');
  if (v2) {
    fs('/sys/fs/cgroup', 'cgroup2', MS_NOSUID | MS_NODEV | MS_NOEXEC, '', 'cgroup2');
  } else if (o.cgroupMounts.some((c) => c.fstype === 'cgroup')) {
    fs('/sys/fs/cgroup', 'tmpfs', MS_NOSUID | MS_NODEV | MS_NOEXEC, 'mode=755,size=64k', 'cgroup');
    for (const c of o.cgroupMounts) {
      container({
        kind: MountKind.Fs, source: 'cgroup', target: `/sys/fs/cgroup/${posix.basename(c.mountPoint)}`, fstype: c.fstype,
        flags: MS_NOSUID | MS_NODEV | MS_NOEXEC, data: c.options, mkdir: MkdirKind.Dir, optional: true,
      });
    }
  }
  fs('/dev/pts', 'devpts', MS_NOSUID | MS_NOEXEC, 'newinstance,ptmxmode=0666,mode=0620,gid=5', 'devpts');
  container({ kind: MountKind.Fs, source: 'mqueue', target: '/dev/mqueue', fstype: 'mqueue', flags: MS_NOSUID | MS_NODEV | MS_NOEXEC, mkdir: MkdirKind.Dir, optional: true });
  if (o.privileged) {
    // The host's kernel knobs, read-only (an unprivileged container is kept out by its user namespace).
    for (const p of PRIVILEGED_READONLY) {
      container({ kind: MountKind.Bind, source: p, sourceInRoot: true, target: p, readonly: true, optional: true });
    }
  }
  return { mounts: m };
}
