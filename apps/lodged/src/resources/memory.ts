/**
 * The host's memory as api.ResourcesMemory: totals and huge pages from /proc/meminfo, per NUMA
 * node from /sys/devices/system/node/node<N>/meminfo. "Used" is what is not available to new
 * allocations (MemTotal - MemAvailable): page cache that the kernel can drop is not counted.
 */
import { join } from 'node:path';
import type { ResourcesMemory, ResourcesMemoryNode } from './resources.types';
import { listDir, readText, readUint } from './sysfs';

/** /proc/meminfo (or a node's meminfo, whose lines start with "Node N") as bytes or counts by key. */
export function parseMeminfo(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(?:Node \d+ )?([^:]+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line);
    if (!m) continue;
    out.set(m[1], Number(m[2]) * (line.trimEnd().endsWith('kB') ? 1024 : 1));
  }
  return out;
}

/** Totals from /proc/meminfo. */
export function memoryFromMeminfo(info: Map<string, number>): Omit<ResourcesMemory, 'nodes'> {
  const total = info.get('MemTotal') ?? 0;
  const available = info.get('MemAvailable') ?? (info.get('MemFree') ?? 0) + (info.get('Buffers') ?? 0) + (info.get('Cached') ?? 0);
  const pageSize = info.get('Hugepagesize') ?? 0;
  const pages = info.get('HugePages_Total') ?? 0;
  const free = info.get('HugePages_Free') ?? 0;
  return {
    hugepages_total: pages * pageSize,
    hugepages_used: (pages - free) * pageSize,
    hugepages_size: pageSize,
    used: Math.max(0, total - available),
    total,
  };
}

export async function readMemoryResources(root = '/'): Promise<ResourcesMemory> {
  const info = parseMeminfo((await readText(join(root, 'proc/meminfo'))) ?? '');
  const memory = memoryFromMeminfo(info);
  const nodes = await readNodes(join(root, 'sys/devices/system/node'), memory.hugepages_size);
  return nodes.length > 0 ? { nodes, ...memory } : memory;
}

async function readNodes(dir: string, hugepageSize: number): Promise<ResourcesMemoryNode[]> {
  const ids = (await listDir(dir))
    .map((e) => /^node(\d+)$/.exec(e))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  const nodes: ResourcesMemoryNode[] = [];
  for (const id of ids) {
    const info = parseMeminfo((await readText(join(dir, `node${id}`, 'meminfo'))) ?? '');
    const hp = join(dir, `node${id}`, 'hugepages', `hugepages-${hugepageSize / 1024}kB`);
    const pages = (await readUint(join(hp, 'nr_hugepages'))) ?? 0;
    const free = (await readUint(join(hp, 'free_hugepages'))) ?? 0;
    nodes.push({
      numa_node: id,
      hugepages_used: (pages - free) * hugepageSize,
      hugepages_total: pages * hugepageSize,
      used: info.get('MemUsed') ?? 0,
      total: info.get('MemTotal') ?? 0,
    });
  }
  return nodes;
}
