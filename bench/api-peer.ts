/**
 * What the API benchmark needs from a daemon under test (Lodge or Debian's LXD), and the one way
 * it talks to either: Debian's `lxc` client with LXD_DIR pointing at the daemon's directory, and
 * curl over the unix socket for raw REST timings.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface ApiPeer {
  /** "lodge" or "lxd" */
  label: string;
  /** the unix socket the daemon serves /1.0 on */
  socket: string;
  /** LXD_DIR (the daemon's socket directory) and LXD_CONF (a private client config dir) */
  clientEnv: NodeJS.ProcessEnv;
  /**
   * Processes that run on the daemon's side of the host, not inside any container: the daemon,
   * and for LXD also its per-container `[lxc monitor]` processes.
   */
  daemonPids(): number[];
  /** Deletes every instance, stops the daemon and removes all it made. Safe to call twice. */
  stop(): Promise<void>;
}

export const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

/** Runs `lxc args…` against the peer; throws with the client's stderr when it fails. */
export function lxc(peer: ApiPeer, args: string[], input?: string): string {
  const r = spawnSync('lxc', args, { env: peer.clientEnv, input, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${peer.label}: lxc ${args.join(' ')} failed (${r.status}): ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

/** Wall-clock time of one `lxc args…` run, client start included (as a user sees it). */
export function timeLxc(peer: ApiPeer, args: string[]): number {
  const t0 = process.hrtime.bigint();
  lxc(peer, args);
  return ms(t0);
}

/** Wall-clock time of one `curl --unix-socket` GET; throws unless the answer is 200. */
export function timeCurl(peer: ApiPeer, path: string): number {
  const t0 = process.hrtime.bigint();
  const code = execFileSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--unix-socket', peer.socket, `http://lxd${path}`], {
    encoding: 'utf8',
  });
  const took = ms(t0);
  if (code !== '200') throw new Error(`${peer.label}: GET ${path} answered ${code}`);
  return took;
}

/** `lxc args…` without blocking, for running many at once (bulk setup, not timed). */
export function lxcAsync(peer: ApiPeer, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('lxc', args, { env: peer.clientEnv, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${peer.label}: lxc ${args.join(' ')} failed (${code}): ${err.trim()}`)),
    );
  });
}

/** Runs `work(item)` over `items`, at most `width` at a time. */
export async function inParallel<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
}

/** Names of the peer's instances (in the default project), from the plain REST list. */
export function instanceNames(peer: ApiPeer): string[] {
  const urls = JSON.parse(lxc(peer, ['query', '/1.0/instances'])) as string[];
  return urls.map((u) => decodeURIComponent(u.split('/').pop()!));
}

/** Force-deletes every instance of the peer, a few at a time. */
export async function deleteAllInstances(peer: ApiPeer): Promise<void> {
  await inParallel(instanceNames(peer), 4, (name) => lxcAsync(peer, ['delete', '--force', name]));
}

/** Waits (polling) until `pid` has exited; false after `timeoutMs`. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !isAlive(pid);
}

function isAlive(pid: number): boolean {
  try {
    // a zombie still answers kill(0); its state letter says it is gone
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`, to one process this benchmark started. */
export async function terminate(pid: number | undefined, graceMs = 10_000): Promise<void> {
  if (!pid || !isAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  if (await waitForExit(pid, graceMs)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
  await waitForExit(pid, 5000);
}

/**
 * The command line that runs `argv` in a private mount namespace, optionally with empty files
 * bound over some host files first. Every mount the daemon (and its containers) make then lives
 * in that namespace only and disappears with its last process, even if this benchmark dies.
 */
export function inPrivateMountNamespace(argv: string[], hide: { file: string; empty: string }[] = []): string[] {
  const binds = hide.map((h) => `mount --bind '${h.empty}' '${h.file}' && `).join('');
  return ['unshare', '-m', '--propagation', 'private', 'sh', '-c', `${binds}exec "$@"`, 'sh', ...argv];
}

/**
 * `root` and its descendants, except processes whose cgroup path contains `containerMarker`
 * (the containers' own processes): the daemon side of a process tree.
 */
export function daemonSideTree(root: number, containerMarker: string): number[] {
  const children = new Map<number, number[]>();
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      // ppid is the 2nd field after the parenthesised command, which may itself hold spaces
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(p)]);
    } catch {
      /* exited meanwhile */
    }
  }
  const out: number[] = [];
  const visit = (pid: number): void => {
    let inContainer = false;
    try {
      inContainer = readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(containerMarker);
    } catch {
      return;
    }
    if (!inContainer) out.push(pid);
    for (const c of children.get(pid) ?? []) visit(c);
  };
  visit(root);
  return out;
}
