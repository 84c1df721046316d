/**
 * LXD's value grammars, shared by the key table, the device table and the limits translation:
 * byte sizes ("512MB", "1GiB", "4096"), booleans ("true"/"on"/"1"/...), integers, cpu lists
 * ("0-1,3") and durations ("25ms"). Every parser throws InvalidArgumentError with a short reason;
 * callers put the key and the value in front of it.
 */
import { InvalidArgumentError, MAX_CPU_INDEX, checkCpuList, formatCpuList } from '@lodge/common';

const DECIMAL_UNITS = ['kB', 'MB', 'GB', 'TB', 'PB', 'EB'] as const;
const BINARY_UNITS = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'] as const;

/** Every byte suffix LXD accepts, with its multiplier (as a bigint: EiB does not fit a double exactly). */
export const BYTE_UNITS: ReadonlyMap<string, bigint> = new Map<string, bigint>([
  ['', 1n],
  ['B', 1n],
  ['bytes', 1n],
  [' bytes', 1n],
  ...DECIMAL_UNITS.map((u, i) => [u, 1000n ** BigInt(i + 1)] as [string, bigint]),
  ...BINARY_UNITS.map((u, i) => [u, 1024n ** BigInt(i + 1)] as [string, bigint]),
]);

const UNIT_HINT = 'use B, kB, MB, GB, TB, PB, EB (powers of 1000) or KiB, MiB, GiB, TiB, PiB, EiB (powers of 1024)';

/**
 * Parses an LXD byte size: a whole number of bytes with an optional suffix: "4096", "512B",
 * "512MB" (decimal, 512*1000^2), "1GiB" (binary, 1024^3). Units are case-sensitive as in LXD
 * ("1G", "1gb" and "1.5GB" are rejected). Results above Number.MAX_SAFE_INTEGER (8 PiB) are
 * rejected rather than rounded.
 */
export function parseBytes(value: string): number {
  if (typeof value !== 'string') throw new InvalidArgumentError(`invalid byte size ${String(value)}: not a string`);
  const m = /^(\d+)(.*)$/s.exec(value);
  if (!m) throw new InvalidArgumentError(`invalid byte size "${value}": expected a whole number with an optional unit such as "512MB" or "1GiB"`);
  const mult = BYTE_UNITS.get(m[2]);
  if (mult === undefined) {
    throw new InvalidArgumentError(`invalid byte size "${value}": unknown unit "${m[2]}" (${UNIT_HINT})`);
  }
  const bytes = BigInt(m[1]) * mult;
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) throw new InvalidArgumentError(`invalid byte size "${value}": too large`);
  return Number(bytes);
}

/**
 * Formats bytes with LXD's units.
 * - default (exact): the largest binary unit that divides the value, else the largest decimal
 *   one, else plain bytes ("512MiB", "500MB", "1234B"); parseBytes(formatBytes(n)) === n.
 * - `{ approximate: true }`: for people, two decimals in the largest binary unit not above the
 *   value ("1.50GiB", "900B"); not meant to be parsed back.
 */
export function formatBytes(bytes: number, opts: { approximate?: boolean } = {}): string {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new InvalidArgumentError(`cannot format ${bytes} as a byte size`);
  if (opts.approximate) {
    for (let i = BINARY_UNITS.length - 1; i >= 0; i--) {
      const size = 1024 ** (i + 1);
      if (bytes >= size) return `${(bytes / size).toFixed(2)}${BINARY_UNITS[i]}`;
    }
    return `${bytes}B`;
  }
  if (bytes === 0) return '0B';
  const exact = (units: readonly string[], base: bigint): string | undefined => {
    const b = BigInt(bytes);
    for (let i = units.length - 1; i >= 0; i--) {
      const size = base ** BigInt(i + 1);
      if (b % size === 0n) return `${b / size}${units[i]}`;
    }
    return undefined;
  };
  return exact(BINARY_UNITS, 1024n) ?? exact(DECIMAL_UNITS, 1000n) ?? `${bytes}B`;
}

/** LXD's boolean spellings (case-insensitive). */
const TRUE_WORDS = ['true', '1', 'yes', 'on'];
const FALSE_WORDS = ['false', '0', 'no', 'off'];

/** "true"/"1"/"yes"/"on" -> true, "false"/"0"/"no"/"off" -> false (any case); throws otherwise. */
export function parseBool(value: string): boolean {
  const v = value.toLowerCase();
  if (TRUE_WORDS.includes(v)) return true;
  if (FALSE_WORDS.includes(v)) return false;
  throw new InvalidArgumentError(`"${value}" is not a boolean (use true or false)`);
}

/** True when `value` is one of LXD's true spellings; absent/empty/anything else is false. */
export function isTrue(value: string | undefined): boolean {
  return value !== undefined && TRUE_WORDS.includes(value.toLowerCase());
}

/** A decimal integer (optional leading "-" when min < 0) within [min, max]. */
export function parseIntStrict(value: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError(`"${value}" is not an integer`);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`"${value}" is too large`);
  if (n < min || n > max) {
    if (max === Number.MAX_SAFE_INTEGER) throw new InvalidArgumentError(`${value} is below the minimum of ${min}`);
    throw new InvalidArgumentError(`${value} is not between ${min} and ${max}`);
  }
  return n;
}

export { MAX_CPU_INDEX };

/** "0-3,5" -> [0,1,2,3,5] (sorted, unique); throws on anything outside the kernel cpu-list grammar. */
export function parseCpuSet(value: string): number[] {
  const r = checkCpuList(value);
  if ('cpus' in r) return r.cpus;
  // A broken range or a cpu past the limit is named; anything else is not a list at all.
  if (/ends before it starts|is above/.test(r.problem)) throw new InvalidArgumentError(`"${value}": ${r.problem}`);
  throw new InvalidArgumentError(`"${value}" is not a CPU count or a CPU list such as "0-1,3"`);
}

/** [0,1,2,5] -> "0-2,5" (kernel cpu-list text). */
export const formatCpuSet = formatCpuList;

const DURATION_US: Record<string, number> = { us: 1, ms: 1000, s: 1_000_000 };

/** "25ms" / "500us" / "1s" -> microseconds (whole numbers only). */
export function parseDurationUs(value: string): number {
  const m = /^(\d+)(us|ms|s)$/.exec(value);
  if (!m) throw new InvalidArgumentError(`"${value}" is not a duration such as "25ms" (units: us, ms, s)`);
  const us = Number(m[1]) * DURATION_US[m[2]];
  if (!Number.isSafeInteger(us)) throw new InvalidArgumentError(`"${value}" is too large`);
  return us;
}
