/**
 * User-namespace id maps: reading the host's subordinate ranges, validating a map and
 * formatting it for /proc/<pid>/{uid,gid}_map.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, NotSupportedError } from '@lodge/common';

export interface IdMapEntry {
  /** first id inside the container */
  inside: number;
  /** first id on the host */
  outside: number;
  count: number;
}

export interface IdRange {
  start: number;
  count: number;
}

/** The kernel accepts at most 340 lines per map. */
const MAX_ENTRIES = 340;
const MAX_ID = 0xffffffff; // (uid_t)-1 is never valid

/** Ranges of `user` (default root) in an /etc/subuid-style file. Lines naming the user by uid count too. */
export function readSubordinateRanges(file: string, user = 'root', uid = 0): IdRange[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: IdRange[] = [];
  for (const line of text.split('\n')) {
    const [name, start, count] = line.trim().split(':');
    if (name !== user && name !== String(uid)) continue;
    const s = Number(start);
    const c = Number(count);
    if (Number.isSafeInteger(s) && Number.isSafeInteger(c) && s >= 0 && c > 0) out.push({ start: s, count: c });
  }
  return out;
}

function overlaps(a: number, aCount: number, b: number, bCount: number): boolean {
  return a < b + bCount && b < a + aCount;
}

/**
 * Validates a map: integer fields, no overlap inside or outside, every outside range within
 * `allowed` (the caller's subordinate ranges). Throws InvalidArgumentError naming the problem.
 */
export function validateIdMap(kind: 'uid' | 'gid', map: readonly IdMapEntry[], allowed: readonly IdRange[]): void {
  if (map.length === 0) throw new InvalidArgumentError(`${kind} map is empty`);
  if (map.length > MAX_ENTRIES) throw new InvalidArgumentError(`${kind} map has ${map.length} entries, the kernel accepts ${MAX_ENTRIES}`);
  map.forEach((e, i) => {
    for (const field of ['inside', 'outside', 'count'] as const) {
      const v = e[field];
      if (!Number.isSafeInteger(v) || v < 0 || v > MAX_ID) {
        throw new InvalidArgumentError(`${kind} map entry ${i}: ${field} must be an integer in 0..${MAX_ID}, got ${v}`);
      }
    }
    if (e.count < 1) throw new InvalidArgumentError(`${kind} map entry ${i}: count must be at least 1`);
    if (e.inside + e.count > MAX_ID || e.outside + e.count > MAX_ID) {
      throw new InvalidArgumentError(`${kind} map entry ${i}: range runs past ${MAX_ID}`);
    }
    for (let j = 0; j < i; j++) {
      const o = map[j];
      if (overlaps(e.inside, e.count, o.inside, o.count)) {
        throw new InvalidArgumentError(`${kind} map entries ${j} and ${i} overlap inside the container`);
      }
      if (overlaps(e.outside, e.count, o.outside, o.count)) {
        throw new InvalidArgumentError(`${kind} map entries ${j} and ${i} overlap on the host`);
      }
    }
    const within = allowed.some((r) => e.outside >= r.start && e.outside + e.count <= r.start + r.count);
    if (!within) {
      const ranges = allowed.map((r) => `${r.start}-${r.start + r.count - 1}`).join(', ') || 'none';
      throw new InvalidArgumentError(
        `${kind} map entry ${i}: host range ${e.outside}-${e.outside + e.count - 1} is not within root's subordinate ${kind}s (${ranges})`,
      );
    }
  });
}

/** The text written to /proc/<pid>/uid_map. */
export function formatIdMap(map: readonly IdMapEntry[]): string {
  return map.map((e) => `${e.inside} ${e.outside} ${e.count}\n`).join('');
}

/** Maps container id `id` to the host id, or undefined when unmapped. */
export function hostId(map: readonly IdMapEntry[], id: number): number | undefined {
  const e = map.find((m) => id >= m.inside && id < m.inside + m.count);
  return e ? e.outside + (id - e.inside) : undefined;
}

/** The first `size` ids of the first subordinate range big enough, as a single-entry map. */
export function firstFittingMap(ranges: readonly IdRange[], size = 65536): IdMapEntry[] {
  const r = ranges.find((x) => x.count >= size);
  if (!r) {
    throw new NotSupportedError(
      `no subordinate id range of ${size} ids for root: add one to /etc/subuid and /etc/subgid (e.g. "root:1000000:1000000000")`,
    );
  }
  return [{ inside: 0, outside: r.start, count: size }];
}
