/**
 * IPv4 and IPv6 addresses as bigints, so one set of subnet arithmetic serves both families.
 * Parsing is strict: dotted quads without leading zeros (no octal ambiguity), IPv6 in any RFC 4291
 * text form (with `::` and an embedded IPv4 tail); formatting is canonical (RFC 5952 for IPv6).
 */
import { InvalidArgumentError } from '@lodge/common';

export type IpFamily = 4 | 6;

export interface IpAddress {
  family: IpFamily;
  value: bigint;
}

export const ADDRESS_BITS: Record<IpFamily, number> = { 4: 32, 6: 128 };

const OCTET = /^(0|[1-9][0-9]{0,2})$/;

/** The address, or undefined when `text` is not an IPv4 or IPv6 address. */
export function tryParseIp(text: string): IpAddress | undefined {
  if (text.includes(':')) {
    const v = parseIpv6(text);
    return v === undefined ? undefined : { family: 6, value: v };
  }
  const v = parseIpv4(text);
  return v === undefined ? undefined : { family: 4, value: v };
}

/** The address; InvalidArgumentError when `text` is not one (of `family`, when given). */
export function parseIp(text: string, family?: IpFamily): IpAddress {
  const ip = tryParseIp(text);
  if (!ip || (family !== undefined && ip.family !== family)) {
    throw new InvalidArgumentError(`Invalid IPv${family ?? ''} address "${text}"`.replace('IPv ', 'IP '));
  }
  return ip;
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!OCTET.test(p) || Number(p) > 255) return undefined;
    v = (v << 8n) | BigInt(p);
  }
  return v;
}

function parseIpv6(text: string): bigint | undefined {
  if (!/^[0-9A-Fa-f:.]+$/.test(text)) return undefined;
  let groups: string[];
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const split = (s: string) => (s === '' ? [] : s.split(':'));
  const head = split(halves[0]);
  const tail = halves.length === 2 ? split(halves[1]) : [];
  // an IPv4 tail ("::ffff:1.2.3.4") stands for the last two groups
  const all = [...head, ...tail];
  const last = all[all.length - 1];
  let v4: bigint | undefined;
  if (last !== undefined && last.includes('.')) {
    v4 = parseIpv4(last);
    // only the very end of the text may be dotted ("a::1.2.3.4", not "1.2.3.4::")
    if (v4 === undefined || (halves.length === 2 && tail.length === 0)) return undefined;
    (tail.length > 0 ? tail : head).pop();
  }
  const wanted = v4 === undefined ? 8 : 6;
  if (halves.length === 2) {
    const missing = wanted - head.length - tail.length;
    if (missing < 1) return undefined;
    groups = [...head, ...Array<string>(missing).fill('0'), ...tail];
  } else {
    groups = head;
    if (groups.length !== wanted) return undefined;
  }
  let v = 0n;
  for (const g of groups) {
    if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return undefined;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  if (v4 !== undefined) v = (v << 32n) | v4;
  return v;
}

/** Canonical text of an address. */
export function formatIp(ip: IpAddress): string {
  if (ip.family === 4) {
    const v = Number(ip.value);
    return [24, 16, 8, 0].map((s) => (v >>> s) & 255).join('.');
  }
  const groups = Array.from({ length: 8 }, (_, i) => Number((ip.value >> BigInt((7 - i) * 16)) & 0xffffn));
  // RFC 5952: the longest run (2 or more, first on a tie) of zero groups becomes "::"
  let best = { at: -1, len: 1 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.at < 0) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.len).join(':')}`;
}

/** The canonical text of an address given as text (e.g. to compare "10.0.3.05"-free forms). */
export function canonicalIp(text: string): string {
  return formatIp(parseIp(text));
}
