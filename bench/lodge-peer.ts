/**
 * Lodge as a benchmark peer: `node bin/lodged.js` as a separate process (as users run it) on a
 * fresh database of the machine's PostgreSQL (127.0.0.1:5432, trust auth, as the tests use), with its own state dir
 * and cgroup parent, stopped by PID and cleaned at the end: instances, container processes left in
 * its cgroup parent, console logs, the state dir and the database.
 *
 * Like the LXD peer it runs in a private mount namespace, so its overlay mounts vanish with the
 * last process in it even if the benchmark itself is killed.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { releaseConsoleLog } from '@lodge/runtime';
import { createTestDatabase } from '../libs/state/test/test-database';
import { removeCgroupParent } from '../test/runtime/harness';
import { ApiPeer, daemonSideTree, deleteAllInstances, inPrivateMountNamespace, lxc, terminate } from './api-peer';

const REPO = join(__dirname, '..');

export async function startLodge(work: string): Promise<ApiPeer> {
  const dir = join(work, 'lodge');
  mkdirSync(dir, { mode: 0o711 });
  const cgroupParent = `lodge-bench-api-${process.pid}`;
  // the same throw-away databases the tests use (lodge_test_<pid>_<random>, dropped with FORCE)
  const database = await createTestDatabase();
  const log = openSync(join(work, 'lodged.log'), 'a');
  const argv = inPrivateMountNamespace([
    process.execPath,
    join(REPO, 'bin', 'lodged.js'),
    '--dir',
    dir,
    '--database-url',
    database.url,
    '--quiet',
    // the benchmark makes its own bridge with an explicit subnet, as it does for LXD
    '--default-network',
    'none',
  ]);
  // detached: Ctrl-C in the terminal reaches only the benchmark, which then stops lodged in order
  const daemon = spawn(argv[0], argv.slice(1), {
    env: { ...process.env, LODGE_CGROUP_PARENT: cgroupParent },
    detached: true,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  let stopped = false;
  const peer: ApiPeer = {
    label: 'lodge',
    socket: join(dir, 'unix.socket'),
    clientEnv: { ...process.env, LXD_DIR: dir, LXD_CONF: join(work, 'lodge-client') },
    daemonPids: () => daemonSideTree(daemon.pid!, `/${cgroupParent}/`),
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        if (daemon.exitCode === null && existsSync(peer.socket)) await deleteAllInstances(peer);
      } finally {
        await terminate(daemon.pid);
        // containers outlive lodged by design: whatever the API did not delete dies here
        await removeCgroupParent(cgroupParent);
        releaseConsoleLogsUnder(dir);
        await database.drop();
      }
    },
  };
  try {
    await waitForSocket(peer, daemon, join(work, 'lodged.log'));
    return peer;
  } catch (err) {
    await peer.stop();
    throw err;
  }
}

async function waitForSocket(peer: ApiPeer, daemon: { exitCode: number | null }, log: string): Promise<void> {
  const until = Date.now() + 60_000;
  for (;;) {
    if (daemon.exitCode !== null) throw new Error(`lodged exited with ${daemon.exitCode} (see ${log})`);
    if (existsSync(peer.socket)) {
      try {
        lxc(peer, ['query', '/1.0']);
        return;
      } catch (err) {
        if (Date.now() > until) throw err;
      }
    }
    if (Date.now() > until) throw new Error(`lodged did not answer within 60 s (see ${log})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Console logs are append-only files; lift that so the state dir can be removed. */
function releaseConsoleLogsUnder(dir: string): void {
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir, { recursive: true }) as string[]) if (f.endsWith('console.log')) releaseConsoleLog(join(dir, f));
}
