/**
 * "Number of CPUs" limits become pins, as LXD does with limits.cpu=N: each container gets the N
 * online CPUs that the fewest running containers are pinned to (lowest number on a tie), so
 * containers spread over the host instead of piling onto cpu 0.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, formatCpuList, parseCpuList } from '@lodge/common';
import { ResourceLimits } from '../cgroup';

/** Limits as the engine gives them: the cgroup limits, plus a number of CPUs to pin to. */
export interface ContainerLimits extends ResourceLimits {
  /** pin to this many CPUs, chosen by the runtime (null: unpin) */
  cpuCount?: number | null;
}

/** The host's online CPUs (/sys/devices/system/cpu/online). */
export function onlineCpus(file = '/sys/devices/system/cpu/online'): number[] {
  const text = readFileSync(file, 'utf8').trim();
  const cpus = parseCpuList(text);
  if (!cpus?.length) throw new Error(`cannot read the online CPUs from ${file}: "${text}"`);
  return cpus;
}

export { formatCpuList };

/**
 * Picks `count` CPUs from `online`, the least used first. `pinned` holds the CPU sets of the
 * other running containers.
 */
export function pickCpus(count: number, online: readonly number[], pinned: readonly (readonly number[])[]): number[] {
  if (!Number.isInteger(count) || count < 1) throw new InvalidArgumentError(`cpuCount must be a positive integer, got ${count}`);
  if (count > online.length) {
    throw new InvalidArgumentError(`cpuCount ${count} is more than the ${online.length} online CPUs of this host`);
  }
  const load = new Map<number, number>(online.map((c) => [c, 0]));
  for (const set of pinned) for (const c of set) if (load.has(c)) load.set(c, load.get(c)! + 1);
  return [...online]
    .sort((a, b) => load.get(a)! - load.get(b)! || a - b)
    .slice(0, count)
    .sort((a, b) => a - b);
}
