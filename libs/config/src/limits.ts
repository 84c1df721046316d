/**
 * Translation of an expanded instance config into the runtime's ContainerLimits.
 *
 * Every field of the result is set: a number/string/object when the config asks for a limit, null
 * when it does not, so handing the result to Container.setLimits() also removes limits whose
 * keys were removed. The one exception is the cpu pair: the runtime takes either cpuCount or
 * cpuset, so exactly one of them is present (limits.cpu unset -> cpuCount: null, which unpins).
 *
 * Mapping:
 * - limits.memory "512MB" / "1GiB" / "50%" (of host memory, rounded down) ->
 *   memoryMax (limits.memory.enforce=hard, the default) or memoryLow with memoryMax null (soft).
 * - limits.memory.swap false -> swap false; true -> swap true; unset -> null.
 * - limits.cpu "2" -> cpuCount 2 (the runtime pins to the least used CPUs; more than the host
 *   has is clamped to all online CPUs); "0-1,3" -> cpuset of those CPUs that are online (an error
 *   when none is).
 * - limits.cpu.allowance "X%" -> cpuWeight X: 100% is the default weight (v1 cpu.shares 1024),
 *   50% half of it, as LXD maps a percentage to cpu.shares = 1024 * X / 100.
 *   "Qms/Pms" -> cpuQuota { quotaUs, periodUs } (a hard cap; Q > P allows several CPUs).
 * - limits.cpu.priority P (0..10, default 10) lowers the weight by 10 - P (at least 1): a
 *   tie-breaker between otherwise equal instances, as LXD subtracts it from cpu.shares. With a
 *   priority and no percentage the base weight is 100.
 * - limits.processes N -> pidsMax N.
 */
import type { ContainerLimits } from '@lodge/runtime';
import {
  MIN_MEMORY_LIMIT_BYTES,
  configKeyDef,
  parseCpuAllowance,
  parseCpuLimit,
  parseMemoryLimit,
  invalidValue,
} from './instance-keys';
import { formatCpuSet, parseBool, parseIntStrict } from './units';

export { parseBytes, formatBytes } from './units';

export interface HostResources {
  /** total host memory in bytes (percentages of limits.memory are of this) */
  memoryBytes: number;
  /** the host's online CPUs */
  onlineCpus: readonly number[];
}

/** The default cpu weight (cgroup v2 cpu.weight; v1 cpu.shares 1024). */
export const DEFAULT_CPU_WEIGHT = 100;

/** The limit keys this translation reads (changing any other key never changes limits). */
export const LIMIT_CONFIG_KEYS = [
  'limits.cpu',
  'limits.cpu.allowance',
  'limits.cpu.priority',
  'limits.memory',
  'limits.memory.enforce',
  'limits.memory.swap',
  'limits.processes',
] as const;

export function toRuntimeLimits(expandedConfig: Readonly<Record<string, string>>, host: HostResources): ContainerLimits {
  const get = (key: (typeof LIMIT_CONFIG_KEYS)[number]): string | undefined => {
    const v = expandedConfig[key];
    if (v === undefined || v === '') return undefined;
    configKeyDef(key).validate(v, key); // the same error a user gets from validation
    return v;
  };
  const limits: ContainerLimits = {};

  // memory
  const memory = get('limits.memory');
  const soft = get('limits.memory.enforce') === 'soft';
  if (memory === undefined) {
    limits.memoryMax = null;
    limits.memoryLow = null;
  } else {
    const parsed = parseMemoryLimit(memory);
    const bytes = 'bytes' in parsed ? parsed.bytes : Math.floor((host.memoryBytes * parsed.percent) / 100);
    if (bytes < MIN_MEMORY_LIMIT_BYTES) {
      throw invalidValue('limits.memory', memory, `that is ${bytes} bytes of this host's memory, below the minimum of 4MiB`);
    }
    limits.memoryMax = soft ? null : bytes;
    limits.memoryLow = soft ? bytes : null;
  }
  const swap = get('limits.memory.swap');
  limits.swap = swap === undefined ? null : parseBool(swap);

  // cpus
  const cpu = get('limits.cpu');
  if (cpu === undefined) {
    limits.cpuCount = null;
  } else {
    const parsed = parseCpuLimit(cpu);
    if ('count' in parsed) {
      limits.cpuCount = Math.min(parsed.count, Math.max(1, host.onlineCpus.length));
    } else {
      const online = new Set(host.onlineCpus);
      const usable = parsed.cpus.filter((c) => online.has(c));
      if (usable.length === 0) {
        throw invalidValue('limits.cpu', cpu, `none of these CPUs is online on this host (online: ${formatCpuSet(host.onlineCpus)})`);
      }
      limits.cpuset = formatCpuSet(usable);
    }
  }

  const allowance = get('limits.cpu.allowance');
  const priorityText = get('limits.cpu.priority');
  const parsedAllowance = allowance === undefined ? undefined : parseCpuAllowance(allowance);
  limits.cpuQuota = parsedAllowance && 'quotaUs' in parsedAllowance ? { quotaUs: parsedAllowance.quotaUs, periodUs: parsedAllowance.periodUs } : null;
  const percent = parsedAllowance && 'percent' in parsedAllowance ? parsedAllowance.percent : undefined;
  if (percent === undefined && priorityText === undefined) {
    limits.cpuWeight = null;
  } else {
    const priority = priorityText === undefined ? 10 : parseIntStrict(priorityText, 0, 10);
    limits.cpuWeight = Math.max(1, (percent ?? DEFAULT_CPU_WEIGHT) - (10 - priority));
  }

  // processes
  const processes = get('limits.processes');
  limits.pidsMax = processes === undefined ? null : parseIntStrict(processes, 1);

  return limits;
}

/** True when a config change touches a key that toRuntimeLimits reads. */
export function affectsLimits(changedKeys: readonly string[]): boolean {
  return changedKeys.some((k) => (LIMIT_CONFIG_KEYS as readonly string[]).includes(k));
}
