/**
 * npm run bench:api — Lodge's LXD-compatible API beside Debian's LXD 5.0, both driven by the same
 * Debian `lxc` client over each daemon's unix socket, in one run. Prints medians per measure for
 * both and the ratio; the last line is one JSON object.
 *
 * Both daemons get the same busybox image (.lodge-test/images/busybox.tar.xz, imported with
 * `lxc image import`), the same default profile (a root disk on the `dir` pool, no NIC) and the
 * same `nic` profile: eth0 on a managed bridge of each daemon's own with an explicit subnet and
 * NAT off (LXD 10.253.0.1/20, Lodge 10.253.16.1/20: never `auto`, whose probe contacts random
 * addresses). Every measure is the wall-clock time of one client command, the `lxc` process start
 * (~5-8 ms) included, as a user sees it:
 *
 *  - launch: `lxc launch bb bench-i` (create from the image + start); the lifecycle runs twice,
 *            without a NIC and with `-p default -p nic` (a bridged NIC, DHCP in the container)
 *  - exec:   `lxc exec bench-i -- true`, the second one in that container (the first warms the
 *            page cache of the freshly made rootfs)
 *  - stop:   `lxc stop --force bench-i` (busybox init ignores SIGPWR: a clean stop would only
 *            measure the timeout)
 *  - stop, lease bound (NIC only): the same stop once the container's DHCP client holds its
 *            lease; a stop right after launch also waits for the exiting udhcpc to close its
 *            packet socket mid-exchange, which the kernel makes wait for an RCU grace period
 *  - start:  `lxc start bench-i` after that stop (shown, not a target)
 *  - delete: `lxc delete --force bench-i` of the running instance (stop + delete), as the
 *            issue's LXD anchor (182 ms) was measured
 *  - client floor: `lxc remote list` (the client process alone: no request) and
 *            `lxc query /1.0` (the process and one request), so every figure above can be read
 *            against what the client itself costs
 *  - list:   with BENCH_LIST_INSTANCES (51) running with the NIC, `lxc list --format csv` (its default columns
 *            need every instance's state: GET /1.0/instances?recursion=2) and the raw
 *            `curl --unix-socket … /1.0/instances?recursion=2`
 *  - list1000 (Lodge): `curl … /1.0/instances?recursion=2` with BENCH_LIST1000 (1000) running (with the NIC)
 *  - memory per idle running container, beyond the container's own processes: see hostMemory().
 *
 * BENCH_N (20) runs per measure; BENCH_PEERS=lxd or =lodge runs one side only.
 * Everything it starts is stopped and removed at the end, also on failure or Ctrl-C: instances,
 * the daemons (by PID), their mounts (each daemon runs in a private mount namespace), cgroups, the
 * Lodge database and the temp dir.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Reverter } from '@lodge/common';
import { ApiPeer, deleteAllInstances, inParallel, lxc, lxcAsync, timeCurl, timeLxc } from './api-peer';
import { startLodge } from './lodge-peer';
import { LxdPeer, startLxd } from './lxd-peer';

const REPO = join(__dirname, '..');
const N = Number(process.env.BENCH_N ?? 20);
const LIST_INSTANCES = Number(process.env.BENCH_LIST_INSTANCES ?? 51);
const LIST1000 = Number(process.env.BENCH_LIST1000 ?? 1000);
const PEERS = (process.env.BENCH_PEERS ?? 'lxd,lodge').split(',');
const IMAGE = join(REPO, '.lodge-test', 'images', 'busybox.tar.xz');
/** bulk setup (not timed) runs this many client commands at once */
const SETUP_WIDTH = 4;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const round = (x: number | undefined, d = 2): number | null => (x === undefined ? null : Math.round(x * 10 ** d) / 10 ** d);
const names = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

interface Lifecycle {
  launch?: number;
  exec?: number;
  stop?: number;
  /** NIC only: stop --force once the DHCP lease is bound */
  stopBound?: number;
  start?: number;
  delete?: number;
}

interface Figures extends Lifecycle {
  /** the same lifecycle with the bridged NIC */
  nic: Lifecycle;
  clientAlone?: number;
  clientOneRequest?: number;
  list?: number;
  listCurl?: number;
  list1000?: number;
  memKb?: number;
  memKb1000?: number;
  /** measures the peer could not do, with the client's error */
  failed: string[];
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Runs `measure`; when the peer cannot do it, notes why and goes on with the other measures. */
function attempt<T>(f: Figures, what: string, measure: () => T): T | undefined {
  try {
    return measure();
  } catch (err) {
    f.failed.push(`${what}: ${message(err)}`);
    return undefined;
  }
}

/** Each peer's bridge: explicit subnets (never `auto`), NAT off, no IPv6. */
const BENCH_NETWORKS: Record<string, { name: string; ipv4: string }> = {
  lxd: { name: 'lbench-lxd', ipv4: '10.253.0.1/20' },
  lodge: { name: 'lbench-lodge', ipv4: '10.253.16.1/20' },
};

/**
 * The same image under alias `bb`, the same default profile (root disk on `default`, no NIC) and
 * the same `nic` profile (eth0 on the peer's bridge). Returns what undoes the network part.
 */
function prepare(peer: ApiPeer): () => Promise<void> {
  lxc(peer, ['image', 'import', IMAGE, '--alias', 'bb']);
  const profile = { description: 'Default profile', config: {}, devices: { root: { path: '/', pool: 'default', type: 'disk' } } };
  lxc(peer, ['query', '-X', 'PUT', '/1.0/profiles/default', '--data', JSON.stringify(profile)]);
  const net = BENCH_NETWORKS[peer.label];
  lxc(peer, ['network', 'create', net.name, `ipv4.address=${net.ipv4}`, 'ipv4.nat=false', 'ipv6.address=none']);
  lxc(peer, ['profile', 'create', 'nic']);
  lxc(peer, ['profile', 'device', 'add', 'nic', 'eth0', 'nic', `network=${net.name}`, 'name=eth0']);
  let done = false;
  return async () => {
    if (done) return;
    done = true;
    await deleteAllInstances(peer).catch(() => undefined);
    lxc(peer, ['profile', 'delete', 'nic']);
    lxc(peer, ['network', 'delete', net.name]);
  };
}

/** launch, exec, stop --force, start and delete --force of one instance, N times after one untimed round. */
function lifecycle(peer: ApiPeer, f: Figures, o: { nic: boolean }): void {
  const profiles = o.nic ? ['-p', 'default', '-p', 'nic'] : [];
  const prefix = o.nic ? 'bench-nic' : 'bench';
  const t = { launch: [] as number[], exec: [] as number[], stop: [] as number[], stopBound: [] as number[], start: [] as number[], delete: [] as number[] };
  let canExec = true;
  for (let i = -1; i < N; i++) {
    const name = `${prefix}-${i < 0 ? 'warm' : i}`;
    const launch = timeLxc(peer, ['launch', 'bb', name, ...profiles]);
    const execTwice = (): number => {
      timeLxc(peer, ['exec', name, '--', 'true']);
      return timeLxc(peer, ['exec', name, '--', 'true']);
    };
    const exec: number | undefined = canExec ? attempt(f, 'lxc exec', execTwice) : undefined;
    canExec = exec !== undefined;
    const stop = timeLxc(peer, ['stop', '--force', name]);
    const start = timeLxc(peer, ['start', name]);
    let stopBound: number | undefined;
    if (o.nic) {
      // the same stop once the container's DHCP client holds its lease (and has closed its
      // packet socket): what a stop costs a container that has been up for a moment
      waitForLease(peer, name);
      stopBound = timeLxc(peer, ['stop', '--force', name]);
      lxc(peer, ['start', name]);
    }
    const del = timeLxc(peer, ['delete', '--force', name]);
    if (i < 0) continue;
    if (stopBound !== undefined) t.stopBound.push(stopBound);
    t.launch.push(launch);
    if (exec !== undefined) t.exec.push(exec);
    t.stop.push(stop);
    t.start.push(start);
    t.delete.push(del);
  }
  const into: Lifecycle = o.nic ? f.nic : f;
  into.launch = median(t.launch);
  into.exec = t.exec.length ? median(t.exec) : undefined;
  into.stop = median(t.stop);
  into.stopBound = t.stopBound.length ? median(t.stopBound) : undefined;
  into.start = median(t.start);
  into.delete = median(t.delete);
}

/** Blocks (untimed) until the instance's eth0 shows an IPv4 address, then a little longer for its DHCP client to settle. */
function waitForLease(peer: ApiPeer, name: string): void {
  const pause = (msecs: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, msecs);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const state = JSON.parse(lxc(peer, ['query', `/1.0/instances/${name}/state`])) as { network?: Record<string, { addresses?: Array<{ family: string }> }> };
    if ((state.network?.eth0?.addresses ?? []).some((a) => a.family === 'inet')) break;
    if (Date.now() > deadline) throw new Error(`${peer.label}: ${name} got no IPv4 address from DHCP in 20 s`);
    pause(50);
  }
  pause(300);
}

/** What the `lxc` client costs by itself: its process alone, and its process with one request. */
function clientFloor(peer: ApiPeer, f: Figures): void {
  const alone: number[] = [];
  const oneRequest: number[] = [];
  for (let i = -1; i < N; i++) {
    const a = timeLxc(peer, ['remote', 'list']);
    const q = timeLxc(peer, ['query', '/1.0']);
    if (i < 0) continue;
    alone.push(a);
    oneRequest.push(q);
  }
  f.clientAlone = median(alone);
  f.clientOneRequest = median(oneRequest);
}

/**
 * Host memory the hypervisor spends per idle running container, beyond the container's own
 * processes: (Δ PSS of the daemon-side processes + Δ unreclaimable kernel memory) / n, between no
 * instance and n running ones.
 *  - daemon side: the daemon and its descendants outside the containers' cgroups, and for LXD the
 *    per-container `[lxc monitor]` processes; PSS so pages shared between them count once.
 *  - kernel: SUnreclaim + Percpu from /proc/meminfo — namespaces, cgroups, mounts, the empty
 *    netns; caches the kernel can drop (dentries, inodes, page cache) are not a cost of running.
 * Host-wide kernel figures also move with whatever else runs on the machine: each side is the
 * median of a few readings, and small differences are still noise.
 */
async function hostMemory(peer: ApiPeer): Promise<number> {
  const readings: number[] = [];
  for (let i = 0; i < 5; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 500));
    readings.push(memoryReading(peer));
  }
  return median(readings);
}

function memoryReading(peer: ApiPeer): number {
  const pss = peer.daemonPids().reduce((sum, pid) => {
    try {
      return sum + Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))![1]);
    } catch {
      return sum;
    }
  }, 0);
  const meminfo = readFileSync('/proc/meminfo', 'utf8');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(meminfo)![1]);
  return pss + kb('SUnreclaim') + kb('Percpu');
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 3000));

/** Starts `count` instances (untimed), measures list and memory, deletes them again. */
async function withRunning(peer: ApiPeer, count: number, measure: (memKb: number) => void): Promise<void> {
  await settle();
  const before = await hostMemory(peer);
  const running = names('list', count);
  try {
    await inParallel(running, SETUP_WIDTH, (name) => lxcAsync(peer, ['launch', 'bb', name, '-p', 'default', '-p', 'nic']));
    // the figures only mean something if every one of them really runs
    const listed = JSON.parse(lxc(peer, ['query', '/1.0/instances?recursion=1'])) as { name: string; status: string }[];
    const up = listed.filter((i) => running.includes(i.name) && i.status === 'Running').length;
    if (up !== count) throw new Error(`${peer.label}: ${up} of ${count} launched instances are running`);
    await settle();
    measure(((await hostMemory(peer)) - before) / count);
  } finally {
    await inParallel(running, SETUP_WIDTH, (name) => lxcAsync(peer, ['delete', '--force', name]).catch(() => undefined));
  }
}

async function listing(peer: ApiPeer, f: Figures): Promise<void> {
  if (LIST_INSTANCES === 0) return;
  await withRunning(peer, LIST_INSTANCES, (memKb) => {
    f.memKb = memKb;
    const list: number[] = [];
    const curl: number[] = [];
    const canList = attempt(f, 'lxc list', () => timeLxc(peer, ['list', '--format', 'csv'])) !== undefined;
    timeCurl(peer, '/1.0/instances?recursion=2');
    for (let i = 0; i < N; i++) {
      if (canList) list.push(timeLxc(peer, ['list', '--format', 'csv']));
      curl.push(timeCurl(peer, '/1.0/instances?recursion=2'));
    }
    f.list = canList ? median(list) : undefined;
    f.listCurl = median(curl);
  });
}

async function listing1000(peer: ApiPeer, f: Figures): Promise<void> {
  if (LIST1000 === 0) return;
  await withRunning(peer, LIST1000, (memKb) => {
    f.memKb1000 = memKb;
    const curl: number[] = [];
    timeCurl(peer, '/1.0/instances?recursion=2');
    for (let i = 0; i < N; i++) curl.push(timeCurl(peer, '/1.0/instances?recursion=2'));
    f.list1000 = median(curl);
  });
}

function report(lodge: Figures, lxd: Figures, lxdPeer?: LxdPeer): void {
  const fmt = (x?: number, unit = ''): string => (x === undefined ? '-' : `${x.toFixed(1)}${unit}`);
  const rows: [string, number | undefined, number | undefined, string?][] = [
    ['lxc launch bb c', lodge.launch, lxd.launch],
    ['lxc exec c -- true', lodge.exec, lxd.exec],
    ['lxc stop --force c', lodge.stop, lxd.stop],
    ['lxc start c', lodge.start, lxd.start],
    ['lxc delete --force c (running)', lodge.delete, lxd.delete],
    ['with a bridged NIC: lxc launch bb c -p default -p nic', lodge.nic.launch, lxd.nic.launch],
    ['with a bridged NIC: lxc exec c -- true', lodge.nic.exec, lxd.nic.exec],
    ['with a bridged NIC: lxc stop --force c', lodge.nic.stop, lxd.nic.stop],
    ['with a bridged NIC: lxc stop --force c, lease bound', lodge.nic.stopBound, lxd.nic.stopBound],
    ['with a bridged NIC: lxc start c', lodge.nic.start, lxd.nic.start],
    ['with a bridged NIC: lxc delete --force c', lodge.nic.delete, lxd.nic.delete],
    ['client alone: lxc remote list', lodge.clientAlone, lxd.clientAlone],
    ['client + one request: lxc query /1.0', lodge.clientOneRequest, lxd.clientOneRequest],
    [`lxc list --format csv (${LIST_INSTANCES} running)`, lodge.list, lxd.list],
    [`GET /1.0/instances?recursion=2 (${LIST_INSTANCES} running)`, lodge.listCurl, lxd.listCurl],
    [`GET /1.0/instances?recursion=2 (${LIST1000} running)`, lodge.list1000, undefined],
    [`memory per idle container (${LIST_INSTANCES} running)`, lodge.memKb, lxd.memKb, ' KB'],
    [`memory per idle container (${LIST1000} running)`, lodge.memKb1000, undefined, ' KB'],
  ];
  const lxdName = lxdPeer
    ? `Debian LXD ${lxdPeer.version} (${lxdPeer.lxcfsHook ? "with Debian's lxcfs post-stop sleep" : 'lxcfs post-stop sleep hidden'})`
    : 'Debian LXD (not run)';
  console.log(`\nLodge vs ${lxdName}, same lxc client, unix socket, n=${N}, medians in ms`);
  // lxd/lodge: how many times faster (or, for memory, smaller) Lodge is, as the issues' targets say it
  console.log('measure'.padEnd(52) + 'lodge'.padStart(12) + 'lxd'.padStart(12) + '   lxd/lodge');
  for (const [name, ours, peer, unit] of rows) {
    if (ours === undefined && peer === undefined) continue;
    const ratio = ours !== undefined && peer !== undefined ? `   ${(peer / ours).toFixed(1)}x` : '';
    console.log(name.padEnd(52) + fmt(ours, unit).padStart(12) + fmt(peer, unit).padStart(12) + ratio);
  }
  for (const [label, figures] of [['lodge', lodge], ['lxd', lxd]] as const) {
    for (const why of figures.failed) console.log(`${label} could not: ${why}`);
  }
  if (lodge.nic.launch !== undefined && lodge.launch !== undefined) {
    console.log(`lodge: a launch with the bridged NIC costs ${(lodge.nic.launch - lodge.launch).toFixed(1)} ms more than one without`);
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the API benchmark runs two hypervisors with real containers: run it as root');
  execFileSync('bash', [join(REPO, 'scripts', 'build-test-image.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const work = mkdtempSync(join(tmpdir(), 'lodge-bench-api-'));
  // unprivileged containers' root must be able to walk down to the daemons' state dirs
  chmodSync(work, 0o711);
  const cleanups = new Reverter();
  cleanups.push('remove the temp dir', () => rmSync(work, { recursive: true, force: true }));
  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (cleaning ??= cleanups.revert().then((errs) => errs.forEach((e) => console.error(`cleanup: ${e.message}`))));
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      console.error(`\n${signal}: stopping the daemons and removing what the benchmark made`);
      void cleanup().finally(() => process.exit(130));
    });
  }

  const lodge: Figures = { nic: {}, failed: [] };
  const lxd: Figures = { nic: {}, failed: [] };
  let lxdPeer: LxdPeer | undefined;
  let failure: unknown;
  try {
    if (PEERS.includes('lxd')) {
      lxdPeer = await startLxd(work, [...names('bench', N), 'bench-warm', ...names('bench-nic', N), 'bench-nic-warm', ...names('list', LIST_INSTANCES)]);
      const peer = lxdPeer;
      cleanups.push('stop LXD', () => peer.stop());
      const unprepare = prepare(peer);
      cleanups.push('remove the LXD bench network', unprepare);
      clientFloor(peer, lxd);
      lifecycle(peer, lxd, { nic: false });
      lifecycle(peer, lxd, { nic: true });
      await listing(peer, lxd);
      await unprepare();
      await peer.stop();
      report(lodge, lxd, lxdPeer);
    }
    if (PEERS.includes('lodge')) {
      const peer = await startLodge(work);
      cleanups.push('stop Lodge', () => peer.stop());
      const unprepare = prepare(peer);
      cleanups.push('remove the Lodge bench network', unprepare);
      clientFloor(peer, lodge);
      lifecycle(peer, lodge, { nic: false });
      lifecycle(peer, lodge, { nic: true });
      await listing(peer, lodge);
      await listing1000(peer, lodge);
      await unprepare();
      await peer.stop();
    }
  } catch (err) {
    failure = err;
  } finally {
    await cleanup();
  }
  report(lodge, lxd, lxdPeer);
  if (failure) console.error(`\nbenchmark failed: ${message(failure)}`);
  console.log(
    JSON.stringify({
      launch_ms: round(lodge.launch),
      lxd_launch_ms: round(lxd.launch),
      exec_ms: round(lodge.exec),
      lxd_exec_ms: round(lxd.exec),
      stop_ms: round(lodge.stop),
      lxd_stop_ms: round(lxd.stop),
      delete_ms: round(lodge.delete),
      lxd_delete_ms: round(lxd.delete),
      list1000_ms: round(lodge.list1000),
      mem_kb_per_container: round(lodge.memKb, 1),
      list_ms: round(lodge.list),
      lxd_list_ms: round(lxd.list),
      lxd_mem_kb_per_container: round(lxd.memKb, 1),
      launch_nic_ms: round(lodge.nic.launch),
      lxd_launch_nic_ms: round(lxd.nic.launch),
      stop_nic_ms: round(lodge.nic.stop),
      lxd_stop_nic_ms: round(lxd.nic.stop),
      stop_nic_bound_ms: round(lodge.nic.stopBound),
      lxd_stop_nic_bound_ms: round(lxd.nic.stopBound),
      delete_nic_ms: round(lodge.nic.delete),
      lxd_delete_nic_ms: round(lxd.nic.delete),
      exec_nic_ms: round(lodge.nic.exec),
      lxd_exec_nic_ms: round(lxd.nic.exec),
      start_ms: round(lodge.start),
      lxd_start_ms: round(lxd.start),
      client_alone_ms: round(lodge.clientAlone),
      lxd_client_alone_ms: round(lxd.clientAlone),
      client_one_request_ms: round(lodge.clientOneRequest),
      lxd_client_one_request_ms: round(lxd.clientOneRequest),
    }),
  );
  // a measure a peer could not do is a failed benchmark, even with every other figure printed
  if (failure || lodge.failed.length || lxd.failed.length) process.exitCode = 1;
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
