import { readFileSync } from 'node:fs';
import { hostname, machine, release, type } from 'node:os';

/** Facts about the host that GET /1.0 reports; read once at start. */
export interface HostFacts {
  kernel: string;
  kernelArchitecture: string;
  kernelVersion: string;
  kernelFeatures: Record<string, string>;
  architectures: string[];
  osName: string;
  osVersion: string;
  serverName: string;
}

/** Personalities a kernel architecture also runs (LXD lists them too). */
const PERSONALITIES: Record<string, string[]> = { x86_64: ['i686'], aarch64: ['armv7l'], ppc64le: [], s390x: [] };

export function readHostFacts(): HostFacts {
  const arch = machine();
  const kernelVersion = release();
  const osRelease = parseOsRelease(safeRead('/etc/os-release') ?? safeRead('/usr/lib/os-release') ?? '');
  return {
    kernel: type(),
    kernelArchitecture: arch,
    kernelVersion,
    kernelFeatures: kernelFeatures(kernelVersion),
    architectures: [arch, ...(PERSONALITIES[arch] ?? [])],
    osName: osRelease.NAME ?? '',
    osVersion: osRelease.VERSION_ID ?? '',
    serverName: hostname(),
  };
}

export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let v = m[2];
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    out[m[1]] = v.replace(/\\(.)/g, '$1');
  }
  return out;
}

/**
 * Kernel features by the version where they appeared (the runtime needs >= 5.12 anyway).
 * shiftfs is an out-of-tree Ubuntu module Lodge never uses.
 */
function kernelFeatures(version: string): Record<string, string> {
  const [maj, min] = version.split('.').map((x) => parseInt(x, 10));
  const atLeast = (a: number, b: number) => maj > a || (maj === a && min >= b);
  const flag = (v: boolean) => (v ? 'true' : 'false');
  return {
    idmapped_mounts: flag(atLeast(5, 12)),
    netnsid_getifaddrs: flag(atLeast(4, 20)),
    seccomp_listener: flag(atLeast(5, 0)),
    seccomp_listener_continue: flag(atLeast(5, 5)),
    shiftfs: 'false',
    uevent_injection: flag(atLeast(4, 18)),
    unpriv_fscaps: flag(atLeast(4, 14)),
  };
}

function safeRead(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
