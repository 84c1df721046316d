/**
 * oslo's version_is_compatible: an endpoint at `implemented` serves a request for `requested`
 * when the majors are equal and the requested minor (then revision) is not newer. A missing
 * implemented version accepts everything; a missing requested version nothing.
 * Throws on a version that is not dotted numbers, as oslo's int() does.
 */
export function versionIsCompatible(implemented: string | null, requested: string | null): boolean {
  if (implemented === null) return true;
  if (requested === null) return false;
  const want = parseVersion(requested);
  const have = parseVersion(implemented);
  if (want[0] !== have[0]) return false;
  if (want[1] > have[1]) return false;
  if (want[1] === have[1] && want[2] > have[2]) return false;
  return true;
}

function parseVersion(v: string): [number, number, number] {
  const parts = v.split('.');
  const num = (s: string | undefined, fallback?: number): number => {
    if (s === undefined && fallback !== undefined) return fallback;
    if (s === undefined || !/^\s*[+-]?\d+\s*$/.test(s)) throw new ValueError(`invalid literal for int() with base 10: '${s ?? ''}'`);
    return parseInt(s, 10);
  };
  return [num(parts[0]), num(parts[1]), num(parts[2], 0)];
}

/** Python's ValueError, travelling back as a builtins failure. */
export class ValueError extends Error {
  override readonly name = 'ValueError';
}
