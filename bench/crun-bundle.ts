/**
 * An OCI bundle for Debian's crun on the same busybox rootfs, with the same namespaces and a
 * user namespace mapped to the same host range, so the two runtimes do the same work.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CrunBundleOptions {
  dir: string;
  rootfs: string;
  hostUid: number;
  hostGid: number;
  memoryBytes: number;
  pids: number;
}

export function makeCrunBundle(o: CrunBundleOptions): string {
  mkdirSync(o.dir, { recursive: true });
  const rootfs = join(o.dir, 'rootfs');
  cpSync(o.rootfs, rootfs, { recursive: true, verbatimSymlinks: true });
  // crun 1.8 has no idmapped rootfs: the owners are shifted into the mapped range beforehand
  execFileSync('chown', ['-R', '-h', `${o.hostUid}:${o.hostGid}`, rootfs]);
  const config = {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ['/sbin/init'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'container=lxc'],
      cwd: '/',
      capabilities: {
        bounding: ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SYS_ADMIN', 'CAP_NET_BIND_SERVICE'],
        effective: ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SYS_ADMIN', 'CAP_NET_BIND_SERVICE'],
        permitted: ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SYS_ADMIN', 'CAP_NET_BIND_SERVICE'],
      },
      noNewPrivileges: false,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: 'crunbench',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=755', 'size=65536k'] },
    ],
    linux: {
      uidMappings: [{ containerID: 0, hostID: o.hostUid, size: 65536 }],
      gidMappings: [{ containerID: 0, hostID: o.hostGid, size: 65536 }],
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'user' }, { type: 'cgroup' }],
      resources: { memory: { limit: o.memoryBytes }, pids: { limit: o.pids } },
      maskedPaths: ['/proc/kcore', '/proc/keys', '/proc/timer_list'],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
  writeFileSync(join(o.dir, 'config.json'), JSON.stringify(config, null, 2));
  return o.dir;
}
