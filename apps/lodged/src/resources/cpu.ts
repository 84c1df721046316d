/**
 * The host's CPUs as api.ResourcesCPU: topology from /sys/devices/system/cpu (socket = physical
 * package, core and die ids, NUMA node), names and vendors from /proc/cpuinfo, frequencies from
 * cpufreq when the kernel has it, else from cpuinfo's "cpu MHz".
 */
import { machine } from 'node:os';
import { join } from 'node:path';
import { parseCpuList } from '@lodge/common';
import type { ResourcesCpu, ResourcesCpuCache, ResourcesCpuCore, ResourcesCpuSocket } from './resources.types';
import { listDir, parseKeyValueRecords, readText, readUint } from './sysfs';

/** What /proc/cpuinfo says about one logical CPU. */
export interface CpuInfoEntry {
  vendor?: string;
  name?: string;
  /** MHz, rounded down */
  mhz?: number;
}

/** /proc/cpuinfo by logical CPU number ("processor"). Works for x86 and arm64 layouts. */
export function parseCpuInfo(text: string): Map<number, CpuInfoEntry> {
  const out = new Map<number, CpuInfoEntry>();
  for (const r of parseKeyValueRecords(text)) {
    const id = r.get('processor');
    if (id === undefined || !/^\d+$/.test(id)) continue;
    const mhz = Number(r.get('cpu MHz'));
    out.set(Number(id), {
      vendor: r.get('vendor_id'),
      name: r.get('model name') ?? r.get('Processor'),
      mhz: Number.isFinite(mhz) && mhz > 0 ? Math.floor(mhz) : undefined,
    });
  }
  return out;
}

/** "32K", "1024K", "8M" (sysfs cache sizes) in bytes. */
export function parseCacheSize(text: string | undefined): number | undefined {
  const m = /^(\d+)([KMG]?)$/.exec(text ?? '');
  if (!m) return undefined;
  return Number(m[1]) * { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2] as '' | 'K' | 'M' | 'G'];
}

/** The kernel's architecture name (uname -m), as LXD reports it. */
export function hostArchitecture(): string {
  return machine();
}

interface Thread {
  id: number;
  socket: number;
  core: number;
  die: number;
  node: number;
  online: boolean;
  isolated: boolean;
  /** current MHz: cpufreq's when the kernel has cpufreq, else cpuinfo's */
  mhz?: number;
  minMhz?: number;
  maxMhz?: number;
}

export async function readCpuResources(root = '/'): Promise<ResourcesCpu> {
  const cpuDir = join(root, 'sys/devices/system/cpu');
  const info = parseCpuInfo((await readText(join(root, 'proc/cpuinfo'))) ?? '');
  const isolated = new Set(parseCpuList((await readText(join(cpuDir, 'isolated'))) ?? '') ?? []);
  const ids = (await listDir(cpuDir))
    .map((d) => /^cpu(\d+)$/.exec(d))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  const threads = await Promise.all(ids.map((id) => readThread(join(cpuDir, `cpu${id}`), id, info, isolated)));

  const sockets = new Map<number, Thread[]>();
  for (const t of threads) sockets.set(t.socket, [...(sockets.get(t.socket) ?? []), t]);
  const out: ResourcesCpuSocket[] = [];
  for (const socket of [...sockets.keys()].sort((a, b) => a - b)) {
    out.push(await renderSocket(socket, sockets.get(socket)!, info, cpuDir));
  }
  return { architecture: hostArchitecture(), sockets: out, total: threads.length };
}

async function readThread(dir: string, id: number, info: Map<number, CpuInfoEntry>, isolated: Set<number>): Promise<Thread> {
  // cpu0 usually has no "online" file: it cannot be taken offline.
  const online = (await readText(join(dir, 'online'))) !== '0';
  const topo = join(dir, 'topology');
  const node = (await listDir(dir)).map((e) => /^node(\d+)$/.exec(e)).find((m) => m !== null);
  const khz = async (file: string) => {
    const v = await readUint(join(dir, 'cpufreq', file));
    return v !== undefined && v > 0 ? Math.floor(v / 1000) : undefined;
  };
  return {
    id,
    socket: (await readUint(join(topo, 'physical_package_id'))) ?? 0,
    core: (await readUint(join(topo, 'core_id'))) ?? id,
    die: (await readUint(join(topo, 'die_id'))) ?? 0,
    node: node ? Number(node[1]) : 0,
    online,
    isolated: isolated.has(id),
    mhz: (await khz('scaling_cur_freq')) ?? info.get(id)?.mhz,
    minMhz: await khz('cpuinfo_min_freq'),
    maxMhz: await khz('cpuinfo_max_freq'),
  };
}

async function renderSocket(socket: number, threads: Thread[], info: Map<number, CpuInfoEntry>, cpuDir: string): Promise<ResourcesCpuSocket> {
  const first = threads[0];
  const byCore = new Map<string, Thread[]>();
  for (const t of threads) byCore.set(`${t.die}:${t.core}`, [...(byCore.get(`${t.die}:${t.core}`) ?? []), t]);
  const cores: ResourcesCpuCore[] = [...byCore.values()]
    .sort((a, b) => a[0].die - b[0].die || a[0].core - b[0].core)
    .map((ts) => {
      const freqs = ts.map((t) => t.mhz).filter((f): f is number => f !== undefined);
      const core: ResourcesCpuCore = {
        core: ts[0].core,
        die: ts[0].die,
        threads: ts.map((t, i) => ({ id: t.id, numa_node: t.node, thread: i, online: t.online, isolated: t.isolated })),
      };
      if (freqs.length > 0) core.frequency = Math.max(...freqs);
      return core;
    });
  const out: ResourcesCpuSocket = { socket, cores };
  const entry = info.get(first.id);
  if (entry?.name) out.name = entry.name;
  if (entry?.vendor) out.vendor = entry.vendor;
  const caches = await readCaches(join(cpuDir, `cpu${first.id}`, 'cache'));
  if (caches.length > 0) out.cache = caches;
  const coreFreqs = cores.map((c) => c.frequency).filter((f): f is number => f !== undefined);
  // The socket's frequency is the mean of its cores', as LXD reports it.
  if (coreFreqs.length > 0) out.frequency = Math.floor(coreFreqs.reduce((a, b) => a + b, 0) / coreFreqs.length);
  if (first.minMhz) out.frequency_minimum = first.minMhz;
  if (first.maxMhz) out.frequency_turbo = first.maxMhz;
  return out;
}

async function readCaches(dir: string): Promise<ResourcesCpuCache[]> {
  const indexes = (await listDir(dir)).filter((e) => /^index\d+$/.test(e)).sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
  const caches: ResourcesCpuCache[] = [];
  for (const index of indexes) {
    const level = await readUint(join(dir, index, 'level'));
    const type = await readText(join(dir, index, 'type'));
    const size = parseCacheSize(await readText(join(dir, index, 'size')));
    if (level === undefined || !type || size === undefined) continue;
    caches.push({ level, type, size });
  }
  return caches;
}
