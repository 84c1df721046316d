/**
 * Debian's LXD 5.0 as a benchmark peer: its own LXD_DIR under the benchmark's temp dir, started
 * by hand (there is no systemd here), configured by a preseed, stopped by PID at the end.
 *
 * Safety (see the peer notes of this machine): never `lxd init --auto` — its subnet probe opens
 * TCP connections to random 10.x addresses. The preseed makes no network; the benchmark makes a
 * bridge with an explicit subnet and NAT off (api.bench.ts), and the daemon's own HTTP fetches
 * (instance types at start-up) go to a dead proxy on loopback through HTTP(S)_PROXY, which LXD
 * honours before its config is set.
 *
 * Debian's lxcfs package adds a post-stop hook that is `sleep 0.5s` (lxcfs itself is not even
 * running), which would add 500 ms to every LXD stop. By default the daemon runs in a private
 * mount namespace with an empty file bound over that snippet, so LXD is measured without it and
 * nothing on the host changes; BENCH_LXD_LXCFS_HOOK=keep measures Debian's default instead.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiPeer, daemonSideTree, deleteAllInstances, inPrivateMountNamespace, lxc, terminate, waitForExit } from './api-peer';

const LXCFS_HOOK = '/usr/share/lxc/config/common.conf.d/00-lxcfs.conf';
const DEAD_PROXY = 'http://127.0.0.1:9';

const PRESEED = `config:
  core.proxy_http: "${DEAD_PROXY}"
  core.proxy_https: "${DEAD_PROXY}"
storage_pools:
- name: default
  driver: dir
profiles:
- name: default
  devices:
    root: {path: /, pool: default, type: disk}
`;

export interface LxdPeer extends ApiPeer {
  /** true when Debian's lxcfs post-stop sleep is in effect */
  lxcfsHook: boolean;
  version: string;
}

export async function startLxd(work: string, names: string[]): Promise<LxdPeer> {
  if (spawnSync('sh', ['-c', 'command -v lxd']).status !== 0) {
    throw new Error('Debian LXD is missing: apt-get install --no-install-recommends lxd (with a policy-rc.d that keeps it from starting)');
  }
  const dir = join(work, 'lxd');
  mkdirSync(dir, { mode: 0o711 });
  const clientEnv = { ...process.env, LXD_DIR: dir, LXD_CONF: join(work, 'lxd-client') };
  const keepHook = process.env.BENCH_LXD_LXCFS_HOOK === 'keep' || !existsSync(LXCFS_HOOK);
  const empty = join(work, 'empty');
  writeFileSync(empty, '');
  const pivotsBefore = new Set(cgroupRoots().map((r) => join(r, 'lxc.pivot')).filter((p) => existsSync(p)));
  // LXD makes its firewall table (inet lxd) for its bridge and leaves it when it stops
  const lxdTableBefore = hasLxdTable();
  const log = openSync(join(work, 'lxd.log'), 'a');
  const argv = inPrivateMountNamespace(
    ['lxd', '--group', 'root', '--verbose', '--logfile', join(work, 'lxd-daemon.log')],
    keepHook ? [] : [{ file: LXCFS_HOOK, empty }],
  );
  // detached: Ctrl-C in the terminal reaches only the benchmark, which then stops LXD in order
  const daemon = spawn(argv[0], argv.slice(1), {
    env: { ...clientEnv, HTTP_PROXY: DEAD_PROXY, HTTPS_PROXY: DEAD_PROXY, NO_PROXY: '' },
    detached: true,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  let stopped = false;
  const peer: LxdPeer = {
    label: 'lxd',
    socket: join(dir, 'unix.socket'),
    clientEnv,
    lxcfsHook: keepHook,
    version: '',
    // the monitors are not the daemon's children (liblxc double-forks); they name their lxcpath
    daemonPids: () => [...new Set([...daemonSideTree(daemon.pid!, 'lxc.payload.'), ...monitorPids(join(dir, 'containers'))])],
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        if (daemon.exitCode === null) await deleteAllInstances(peer);
      } finally {
        // `lxd shutdown` would wait for busybox init to honour SIGPWR (it never does): with no
        // instance left a plain SIGTERM is a clean stop
        await terminate(daemon.pid);
        for (const pid of monitorPids(join(dir, 'containers'))) {
          process.kill(pid, 'SIGKILL');
          await waitForExit(pid, 5000);
        }
        removeLxcCgroups(names, pivotsBefore);
        if (!lxdTableBefore && hasLxdTable()) spawnSync('nft', ['delete', 'table', 'inet', 'lxd']);
      }
    },
  };
  try {
    const ready = spawnSync('lxd', ['waitready', '--timeout=60'], { env: clientEnv, encoding: 'utf8' });
    if (ready.status !== 0) throw new Error(`LXD did not start: ${ready.stderr.trim()} (see ${join(work, 'lxd-daemon.log')})`);
    const init = spawnSync('lxd', ['init', '--preseed'], { env: clientEnv, input: PRESEED, encoding: 'utf8' });
    if (init.status !== 0) throw new Error(`lxd init --preseed failed: ${init.stderr.trim()}`);
    peer.version = lxc(peer, ['query', '/1.0']).match(/"server_version":\s*"([^"]+)"/)?.[1] ?? '?';
    return peer;
  } catch (err) {
    await peer.stop();
    throw err;
  }
}

function hasLxdTable(): boolean {
  return spawnSync('nft', ['list', 'table', 'inet', 'lxd'], { stdio: 'ignore' }).status === 0;
}

function monitorPids(lxcpath: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith(`[lxc monitor] ${lxcpath} `)) out.push(Number(p));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

function cgroupRoots(): string[] {
  return readdirSync('/sys/fs/cgroup').map((c) => join('/sys/fs/cgroup', c));
}

/**
 * LXD's per-container cgroups (lxc.payload.<name>, lxc.monitor.<name>) are removed by LXD on
 * stop; this removes any that a crash left behind for our instance names, in every hierarchy,
 * and the empty `lxc.pivot` cgroups liblxc makes and never removes, unless they were there before.
 */
function removeLxcCgroups(names: string[], pivotsBefore: Set<string>): void {
  for (const root of cgroupRoots()) {
    const paths = names.flatMap((name) => [join(root, `lxc.payload.${name}`), join(root, `lxc.monitor.${name}`)]);
    if (!pivotsBefore.has(join(root, 'lxc.pivot'))) paths.push(join(root, 'lxc.pivot'));
    for (const path of paths) if (existsSync(path)) rmdirTree(path);
  }
}

function rmdirTree(path: string): void {
  for (const d of readdirSync(path, { withFileTypes: true })) if (d.isDirectory()) rmdirTree(join(path, d.name));
  try {
    rmdirSync(path);
  } catch {
    /* busy: a process is still in it */
  }
}
