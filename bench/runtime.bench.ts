/**
 * npm run bench:runtime — Lodge's runtime beside Debian's crun and the unshare floor, on the
 * same busybox rootfs, in one run. Prints medians and ratios; the last line is one JSON object.
 *
 *  - spawn: an unprivileged busybox system container with user, mount, pid, uts, ipc, net and
 *    cgroup namespaces, a memory, pids and cpu limit, idmapped rootfs, seccomp; measured in the
 *    process (the runtime is a library inside the daemon) from the call to init running.
 *    crun: `crun run -d` (create + start, detached) with the same namespaces, user namespace and
 *    limits, through hyperfine -N (includes starting the crun binary, ~1 ms).
 *  - exec: `/bin/true` in the running container until its exit is known; crun: `crun exec`.
 *  - unshare: `unshare --user --map-root-user --pid --fork --mount --uts --ipc --net /bin/true`.
 *  - rss_kb_per_container: growth of this process's RSS per running container (after GC).
 *
 * crun 1.8 refuses this host's hybrid cgroup layout; it runs in a private mount namespace with
 * an empty file bound over /sys/fs/cgroup/unified/cgroup.controllers (nothing global changes).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Container, probeCgroups, RuntimeService } from '@lodge/runtime';
import { makeCrunBundle } from './crun-bundle';

const REPO = join(__dirname, '..');
const N = Number(process.env.BENCH_N ?? 30);
const RSS_CONTAINERS = Number(process.env.BENCH_RSS_CONTAINERS ?? 200);
const MiB = 1024 * 1024;
const LIMITS = { memoryMax: 256 * MiB, pidsMax: 1000, cpuQuota: { quotaUs: 100_000, periodUs: 100_000 } };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;
const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;

function requireTool(tool: string, pkg: string): void {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    throw new Error(`${tool} is missing: apt-get install ${pkg}`);
  }
}

/** hyperfine -N over `command`; returns the median in ms. */
function hyperfine(command: string, runs: number, extra: string[] = [], wrap?: (argv: string[]) => string[]): number {
  const out = join(work, `hf-${Math.random().toString(36).slice(2)}.json`);
  const argv = ['hyperfine', '-N', '--style', 'none', '--warmup', '3', '--runs', String(runs), '--export-json', out, ...extra, command];
  const [cmd, ...args] = wrap ? wrap(argv) : argv;
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const result = JSON.parse(readFileSync(out, 'utf8')).results[0];
  return result.median * 1000;
}

const work = mkdtempSync(join(tmpdir(), 'lodge-bench-'));

async function benchLodge(runtime: RuntimeService, rootfs: string): Promise<{ spawn: number[]; exec: number[] }> {
  const spawn: number[] = [];
  const exec: number[] = [];
  const warm = await runtime.spawn({ name: 'bench-warm', rootfs, haltSignal: 'SIGUSR2', limits: LIMITS });
  await warm.stop({ force: true });
  for (let i = 0; i < N; i++) {
    const t0 = process.hrtime.bigint();
    const c = await runtime.spawn({ name: `bench-${i}`, rootfs, haltSignal: 'SIGUSR2', limits: LIMITS });
    spawn.push(ms(t0));
    for (let j = 0; j < 2; j++) {
      const t1 = process.hrtime.bigint();
      const p = await c.exec({ argv: ['/bin/true'] });
      await p.exited;
      if (j > 0) exec.push(ms(t1)); // the first exec of a container warms its page cache
      p.stdin!.destroy();
      p.stdout!.destroy();
      p.stderr!.destroy();
    }
    await c.stop({ force: true });
  }
  return { spawn, exec };
}

/**
 * Memory this process holds per running container: RSS (and JS heap) with RSS_CONTAINERS
 * containers running minus the same with none, over three alternating cycles (the first cycle
 * grows allocator arenas and the heap to working size); the median difference over the count.
 */
async function memoryPerContainer(runtime: RuntimeService, rootfs: string): Promise<{ rssKb: number; heapKb: number }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  const settle = async (): Promise<{ rss: number; heap: number }> => {
    await new Promise((r) => setTimeout(r, 300));
    gc();
    gc();
    return {
      rss: Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]),
      heap: process.memoryUsage().heapUsed / 1024,
    };
  };
  const rss: number[] = [];
  const heap: number[] = [];
  for (let cycle = 0; cycle < 4; cycle++) {
    const empty = await settle();
    const running: Container[] = [];
    for (let i = 0; i < RSS_CONTAINERS; i++) {
      running.push(await runtime.spawn({ name: `mem-${i}`, rootfs, haltSignal: 'SIGUSR2', limits: LIMITS }));
    }
    const loaded = await settle();
    await Promise.all(running.map((c) => c.stop({ force: true })));
    if (cycle === 0) continue;
    rss.push((loaded.rss - empty.rss) / RSS_CONTAINERS);
    heap.push((loaded.heap - empty.heap) / RSS_CONTAINERS);
  }
  return { rssKb: median(rss), heapKb: median(heap) };
}

function benchCrun(rootfs: string, hostUid: number, hostGid: number): { spawn: number; exec: number } {
  const bundle = makeCrunBundle({ dir: join(work, 'crun-bundle'), rootfs, hostUid, hostGid, memoryBytes: LIMITS.memoryMax, pids: LIMITS.pidsMax });
  const empty = join(work, 'empty-controllers');
  writeFileSync(empty, '');
  const id = `lodgebench${process.pid}`;
  // every crun invocation runs inside one private mount namespace with the hybrid workaround
  const inNs = (argv: string[]): string[] => [
    'unshare', '-m', '--propagation', 'private', 'sh', '-c',
    `mount --bind ${empty} /sys/fs/cgroup/unified/cgroup.controllers && exec "$@"`, 'sh', ...argv,
  ];
  const cleanup = `sh -c "crun delete -f ${id} >/dev/null 2>&1; true"`;
  try {
    const spawn = hyperfine(`crun run -d --bundle ${bundle} ${id}`, N, ['--prepare', cleanup, '--cleanup', cleanup], inNs);
    execFileSync(inNs(['crun', 'run', '-d', '--bundle', bundle, id])[0], inNs(['crun', 'run', '-d', '--bundle', bundle, id]).slice(1), { stdio: 'ignore' });
    const exec = hyperfine(`crun exec ${id} /bin/true`, N, [], inNs);
    return { spawn, exec };
  } finally {
    const [cmd, ...args] = inNs(['crun', 'delete', '-f', id]);
    spawnSync(cmd, args, { stdio: 'ignore' });
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the runtime benchmark makes real containers: run it as root');
  requireTool('crun', 'crun');
  requireTool('hyperfine', 'hyperfine');
  execFileSync('bash', [join(REPO, 'scripts', 'build-test-image.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const rootfs = join(REPO, '.lodge-test', 'images', 'busybox', 'rootfs');
  const parent = `lodge-bench-${process.pid}`;
  const runtime = new RuntimeService({ cgroups: probeCgroups({ parent }) });
  const { uidMap, gidMap } = runtime.defaultIdMaps();

  try {
    const lodge = await benchLodge(runtime, rootfs);
    const mem = await memoryPerContainer(runtime, rootfs);
    const rssKb = mem.rssKb;
    const crun = benchCrun(rootfs, uidMap[0].outside, gidMap[0].outside);
    const unshare = hyperfine('unshare --user --map-root-user --pid --fork --mount --uts --ipc --net /bin/true', Math.max(N, 50));

    const spawnMs = median(lodge.spawn);
    const execMs = median(lodge.exec);
    const rows: [string, number, number | string][] = [
      ['spawn (busybox, all namespaces, limits, unprivileged)', spawnMs, crun.spawn],
      ['exec /bin/true', execMs, crun.exec],
    ];
    console.log(`\nLodge runtime vs crun ${execFileSync('crun', ['--version'], { encoding: 'utf8' }).split('\n')[0].split(' ').pop()}, n=${N}, medians in ms`);
    console.log('operation'.padEnd(56) + 'lodge'.padStart(9) + 'crun'.padStart(9) + '   lodge/crun');
    for (const [name, ours, peer] of rows) {
      console.log(name.padEnd(56) + ours.toFixed(2).padStart(9) + Number(peer).toFixed(2).padStart(9) + `   ${(ours / Number(peer)).toFixed(2)}x`);
    }
    console.log(`unshare floor (all namespaces, /bin/true)`.padEnd(56) + unshare.toFixed(2).padStart(9));
    console.log(`daemon RSS per running container (${RSS_CONTAINERS} running)`.padEnd(56) + `${rssKb.toFixed(1)} KB`.padStart(12));
    console.log(`  of which JS heap`.padEnd(56) + `${mem.heapKb.toFixed(1)} KB`.padStart(12));
    console.log(
      JSON.stringify({
        spawn_ms: round(spawnMs),
        crun_spawn_ms: round(crun.spawn),
        exec_ms: round(execMs),
        crun_exec_ms: round(crun.exec),
        unshare_ms: round(unshare),
        rss_kb_per_container: round(rssKb, 1),
      }),
    );
  } finally {
    await Promise.all(runtime.list().map((c) => c.kill()));
    rmSync(work, { recursive: true, force: true });
    for (const ctl of ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids', 'systemd', 'unified']) {
      spawnSync('rmdir', [`/sys/fs/cgroup/${ctl}/${parent}`], { stdio: 'ignore' });
    }
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
