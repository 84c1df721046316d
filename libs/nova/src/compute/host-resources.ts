import { readFileSync, statfsSync } from 'node:fs';
import { arch, cpus, totalmem } from 'node:os';

/** What the host has, in the units ComputeNode uses. */
export interface HostResources {
  vcpus: number;
  memoryMb: number;
  localGb: number;
  freeDiskGb: number;
  cpuInfo: string;
  arch: string;
}

/** nova's architecture names for Node's. */
export function novaArch(nodeArch = arch()): string {
  return { x64: 'x86_64', arm64: 'aarch64', ia32: 'i686', ppc64: 'ppc64le', s390x: 's390x' }[nodeArch] ?? nodeArch;
}

/** Reads the host: online CPUs, memory, and the pool's filesystem (statfs, no process spawned). */
export function readHostResources(poolPath: string): HostResources {
  const fs = statfsSync(poolPath);
  const gib = 1024 ** 3;
  return {
    vcpus: cpus().length,
    memoryMb: Math.floor(totalmem() / (1024 * 1024)),
    localGb: Math.floor((fs.blocks * fs.bsize) / gib),
    freeDiskGb: Math.floor((fs.bavail * fs.bsize) / gib),
    cpuInfo: JSON.stringify(cpuInfo()),
    arch: novaArch(),
  };
}

/** ComputeNode.cpu_info: {arch, model, vendor, topology, features} as the libvirt driver reports it. */
function cpuInfo(): Record<string, unknown> {
  let text = '';
  try {
    text = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    /* not Linux: an empty description */
  }
  const first = text.split('\n\n')[0] ?? '';
  const field = (k: string) => new RegExp(`^${k}\\s*:\\s*(.*)$`, 'm').exec(first)?.[1]?.trim();
  const sockets = new Set([...text.matchAll(/^physical id\s*:\s*(\d+)/gm)].map((m) => m[1])).size || 1;
  const coresPerSocket = Number(field('cpu cores') ?? cpus().length);
  const siblings = Number(field('siblings') ?? coresPerSocket);
  return {
    arch: novaArch(),
    model: field('model name') ?? 'unknown',
    vendor: field('vendor_id') ?? 'unknown',
    topology: { sockets, cores: coresPerSocket, threads: Math.max(1, Math.round(siblings / coresPerSocket)) },
    features: (field('flags') ?? '').split(/\s+/).filter(Boolean),
  };
}
