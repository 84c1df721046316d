import { createHash } from 'node:crypto';

/**
 * ETags as LXD computes them: sha256 (lower-case hex) of the Go `json.Encoder` output of the
 * object's writable fields — HTML-safe escaping and a trailing newline. Objects are encoded in
 * their key insertion order, like a Go struct; pass Go maps (config maps) through `sortedKeys`,
 * because Go encodes maps with sorted keys.
 *
 * The header carries the hash in double quotes; If-Match is compared with the quotes trimmed.
 */
export function etagHash(value: unknown): string {
  return createHash('sha256').update(goJson(value) + '\n').digest('hex');
}

/** Shallow copy of a map with its keys in sorted (Go map encoding) order. */
export function sortedKeys<T>(map: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(map).sort()) out[k] = map[k];
  return out;
}

/** The ETag header value for a hash. */
export function etagHeader(hash: string): string {
  return `"${hash}"`;
}

/** True when If-Match is absent/empty or equals the hash (quotes trimmed, as LXD does). */
export function etagMatches(ifMatch: string | undefined, hash: string): boolean {
  if (ifMatch === undefined || ifMatch === '') return true;
  return ifMatch.replace(/^"+|"+$/g, '') === hash;
}

/** JSON as Go's encoding/json writes it (HTML escaping on, no spaces). */
export function goJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
      return goString(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(goJson).join(',')}]`;
      const parts: string[] = [];
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (v === undefined) continue;
        parts.push(`${goString(k)}:${goJson(v)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      return 'null';
  }
}

function goString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || ch === '<' || ch === '>' || ch === '&' || c === 0x2028 || c === 0x2029) {
      out += '\\u' + c.toString(16).padStart(4, '0');
    } else out += ch;
  }
  return out + '"';
}
