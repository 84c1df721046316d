/**
 * Resource limits in the runtime's own units (bytes, microseconds, cpu lists). Translating LXD
 * config strings ("512MB", "50%", "25ms/100ms") into these lives in libs/config; the runtime
 * only validates ranges.
 *
 * For every field: undefined = not mentioned (leave alone on update, no limit on create),
 * null = remove the limit.
 */
export interface ResourceLimits {
  /** hard memory limit in bytes (v1 memory.limit_in_bytes, v2 memory.max). */
  memoryMax?: number | null;
  /** soft memory limit in bytes (v1 memory.soft_limit_in_bytes, v2 memory.low). */
  memoryLow?: number | null;
  /** false = the container may not use swap (v1 memsw = memory limit and swappiness 0, v2 memory.swap.max 0). */
  swap?: boolean | null;
  /** cpus the container may run on, as a kernel cpu list ("0-1", "0,2"). */
  cpuset?: string | null;
  /** hard cpu allowance: quota per period, both in microseconds (v1 cfs_quota_us/cfs_period_us, v2 cpu.max). */
  cpuQuota?: { quotaUs: number; periodUs: number } | null;
  /** relative cpu weight 1..10000 (v2 cpu.weight; v1 cpu.shares = weight * 1024 / 100). */
  cpuWeight?: number | null;
  /** max number of processes (pids.max). */
  pidsMax?: number | null;
}

export const LIMIT_KEYS: readonly (keyof ResourceLimits)[] = [
  'memoryMax',
  'memoryLow',
  'swap',
  'cpuset',
  'cpuQuota',
  'cpuWeight',
  'pidsMax',
];
