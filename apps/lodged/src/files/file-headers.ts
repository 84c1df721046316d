/**
 * The X-LXD-* headers of POST .../files, parsed as LXD 5.0 reads them: uid/gid/mode may be
 * absent or -1 (unset), the mode in any base strconv.ParseInt accepts with base 0 ("0644",
 * "420", "0o644", "0x1a4"), the type file | directory | symlink, the write mode overwrite | append.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { InvalidArgumentError } from '@lodge/common';

export type FileType = 'file' | 'directory' | 'symlink';
export type WriteMode = 'overwrite' | 'append';

export interface FileWriteHeaders {
  /** container ids; undefined when not given (or -1) */
  uid?: number;
  gid?: number;
  /** permission bits (and set-id/sticky); undefined when not given (or -1) */
  mode?: number;
  type: FileType;
  write: WriteMode;
}

/** Longer header values are malformed whatever they say (a mode or an id is a few characters). */
const MAX_VALUE_LENGTH = 32;
const MAX_ID = 0xfffffffe;

export function parseFileWriteHeaders(headers: IncomingHttpHeaders): FileWriteHeaders {
  const type = single(headers, 'x-lxd-type') ?? 'file';
  if (type !== 'file' && type !== 'directory' && type !== 'symlink') throw new InvalidArgumentError(`Bad file type: ${type}`);
  const write = single(headers, 'x-lxd-write') ?? 'overwrite';
  if (write !== 'overwrite' && write !== 'append') throw new InvalidArgumentError(`Bad file write mode: ${write}`);
  return { uid: id(headers, 'x-lxd-uid'), gid: id(headers, 'x-lxd-gid'), mode: mode(headers), type, write };
}

function single(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined || v === '') return undefined;
  if (Array.isArray(v)) throw new InvalidArgumentError(`Header ${name} given more than once`);
  if (v.length > MAX_VALUE_LENGTH) throw new InvalidArgumentError(`Header ${name} is too long`);
  return v.trim();
}

function id(headers: IncomingHttpHeaders, name: string): number | undefined {
  const raw = single(headers, name);
  if (raw === undefined || raw === '-1') return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) > MAX_ID) throw new InvalidArgumentError(`Invalid ${name.slice('x-lxd-'.length)} "${raw}"`);
  return Number(raw);
}

function mode(headers: IncomingHttpHeaders): number | undefined {
  const raw = single(headers, 'x-lxd-mode');
  if (raw === undefined || raw === '-1') return undefined;
  const value = parseIntBase0(raw);
  if (value === undefined || value < 0 || value > 0o7777) throw new InvalidArgumentError(`Invalid mode "${raw}"`);
  return value;
}

/** Go's strconv.ParseInt(s, 0, 64) for non-negative numbers: 0x/0o/0b prefixes, a leading 0 = octal. */
export function parseIntBase0(s: string): number | undefined {
  const m = /^(0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|[1-9][0-9]*|0)$/.exec(s);
  if (!m) return undefined;
  if (/^0[xX]/.test(s)) return parseInt(s.slice(2), 16);
  if (/^0[bB]/.test(s)) return parseInt(s.slice(2), 2);
  if (/^0[oO]/.test(s)) return parseInt(s.slice(2), 8);
  if (s.length > 1 && s.startsWith('0')) return parseInt(s.slice(1), 8);
  return parseInt(s, 10);
}

/** LXD's X-LXD-mode on GET: four octal digits. */
export function formatMode(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}
