/**
 * Range checks for ResourceLimits (units are already the runtime's: bytes, microseconds, cpu
 * lists) and the cgroup-name / cpu-list helpers both backends share. Everything here is pure.
 */
import { InvalidArgumentError, MAX_CPU_INDEX, NotSupportedError, parseCpuList } from '@lodge/common';
import type { CgroupCapabilities } from './cgroup-backend';
import { LIMIT_KEYS, ResourceLimits } from './limits';

export const MIN_MEMORY_BYTES = 4 * 1024 * 1024;
export const MIN_CPU_QUOTA_US = 1000;
export const MIN_CPU_PERIOD_US = 1000;
export const MAX_CPU_PERIOD_US = 1_000_000;
export const MIN_CPU_WEIGHT = 1;
export const MAX_CPU_WEIGHT = 10_000;

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'object' && v !== null) {
    try {
      return JSON.stringify(v);
    } catch {
      return String(v);
    }
  }
  return String(v);
}

function bad(field: string, value: unknown, why: string): never {
  throw new InvalidArgumentError(`invalid ${field} ${show(value)}: ${why}`);
}

function checkInt(field: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER, unit = ''): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) bad(field, v, 'must be a safe integer');
  if (v < min || v > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}${unit}` : `between ${min} and ${max}${unit}`;
    bad(field, v, `must be ${range}`);
  }
}

// The cpu-list grammar lives in @lodge/common (shared with libs/config).
export { parseCpuList };

/** Throws InvalidArgumentError unless every cpu of `requested` is in `available` (both kernel lists).
 *  An empty/unparsable `available` (unknown) skips the check. */
export function assertCpusetSubset(requested: string, available: string): void {
  const want = parseCpuList(requested);
  const have = parseCpuList(available.trim());
  if (!want) bad('cpuset', requested, 'expected a cpu list such as "0-3,5"');
  if (!have) return;
  const haveSet = new Set(have);
  const missing = want.filter((c) => !haveSet.has(c));
  if (missing.length > 0) {
    bad('cpuset', requested, `cpus ${missing.join(',')} are not available (host allows "${available.trim()}")`);
  }
}

/**
 * Validates a ResourceLimits object; throws InvalidArgumentError naming the field and the bad value.
 * undefined and null are always accepted (leave alone / remove the limit). Unknown keys are rejected
 * so that typos do not silently drop a limit.
 */
export function validateLimits(limits: ResourceLimits): void {
  if (typeof limits !== 'object' || limits === null || Array.isArray(limits)) {
    bad('limits', limits, 'must be an object');
  }
  for (const key of Object.keys(limits)) {
    if (!(LIMIT_KEYS as readonly string[]).includes(key)) bad('limit key', key, `unknown (known: ${LIMIT_KEYS.join(', ')})`);
  }
  const { memoryMax, memoryLow, swap, cpuset, cpuQuota, cpuWeight, pidsMax } = limits;

  if (memoryMax != null) checkInt('memoryMax', memoryMax, MIN_MEMORY_BYTES, Number.MAX_SAFE_INTEGER, ' bytes (4 MiB)');
  if (memoryLow != null) checkInt('memoryLow', memoryLow, 0, Number.MAX_SAFE_INTEGER, ' bytes');
  if (memoryMax != null && memoryLow != null && memoryLow > memoryMax) {
    bad('memoryLow', memoryLow, `must not exceed memoryMax (${memoryMax})`);
  }
  if (swap != null && typeof swap !== 'boolean') bad('swap', swap, 'must be true, false or null');
  if (cpuset != null) {
    if (typeof cpuset !== 'string' || !parseCpuList(cpuset)) bad('cpuset', cpuset, 'expected a cpu list such as "0-3,5"');
  }
  if (cpuQuota != null) {
    if (typeof cpuQuota !== 'object') bad('cpuQuota', cpuQuota, 'must be { quotaUs, periodUs }');
    checkInt('cpuQuota.periodUs', cpuQuota.periodUs, MIN_CPU_PERIOD_US, MAX_CPU_PERIOD_US, ' us');
    checkInt('cpuQuota.quotaUs', cpuQuota.quotaUs, MIN_CPU_QUOTA_US, Number.MAX_SAFE_INTEGER, ' us');
  }
  if (cpuWeight != null) checkInt('cpuWeight', cpuWeight, MIN_CPU_WEIGHT, MAX_CPU_WEIGHT);
  if (pidsMax != null) checkInt('pidsMax', pidsMax, 1);
}

/** The controller each limit needs. */
export const LIMIT_CONTROLLER: Readonly<Record<keyof ResourceLimits, 'memory' | 'cpu' | 'cpuset' | 'pids'>> = {
  memoryMax: 'memory',
  memoryLow: 'memory',
  swap: 'memory',
  cpuset: 'cpuset',
  cpuQuota: 'cpu',
  cpuWeight: 'cpu',
  pidsMax: 'pids',
};

/**
 * Throws NotSupportedError (naming the controller) when `limits` sets a limit whose controller is
 * not available. Removing a limit (null) or allowing swap (true) on such a host is a no-op, not an
 * error: there is nothing to remove.
 */
export function assertLimitsSupported(limits: ResourceLimits, caps: CgroupCapabilities): void {
  for (const key of LIMIT_KEYS) {
    const v = limits[key];
    if (v === undefined || v === null) continue;
    if (key === 'swap' && v === true) continue;
    const ctl = LIMIT_CONTROLLER[key];
    if (!caps[ctl]) {
      throw new NotSupportedError(`${key}: the ${ctl} cgroup controller is not available on this host (cgroup ${caps.version})`);
    }
  }
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** A cgroup directory name: letters, digits, '_', '.', '-' (not leading), at most 128 chars. */
export function validateCgroupName(what: string, name: string): void {
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    bad(what, name, 'must be 1-128 characters of [A-Za-z0-9_.-] starting with a letter or digit');
  }
}

/** The name of a handle, checked again: a handle may have been built by hand or deserialised. */
export function nameOfHandle(handle: { name: string }): string {
  validateCgroupName('cgroup name', handle.name);
  return handle.name;
}
