/**
 * What the /1.0/images requests carry, read as LXD 5.0 reads it: the upload headers of
 * POST /1.0/images, the bodies of PUT/PATCH /1.0/images/{fp} (api.ImagePut) and of the alias
 * calls (api.ImageAliasesPost, api.ImageAliasesEntryPut, api.ImageAliasesEntryPost). Pure.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { InvalidArgumentError, NotSupportedError } from '@lodge/common';
import type { ImagePatch } from '@lodge/state';
import { GO_ZERO_TIME, IMAGE_PROFILES } from './image-view';

export interface UploadHeaders {
  expectedFingerprint?: string;
  filename?: string;
  public: boolean;
  properties: Record<string, string>;
}

/** X-LXD-fingerprint, X-LXD-filename, X-LXD-public (Go's IsTrue), X-LXD-properties (query-encoded, repeatable). */
export function parseUploadHeaders(h: IncomingHttpHeaders): UploadHeaders {
  const one = (name: string): string | undefined => {
    const v = h[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const properties: Record<string, string> = {};
  const raw = h['x-lxd-properties'];
  for (const value of Array.isArray(raw) ? raw : raw !== undefined ? [raw] : []) {
    for (const [k, v] of new URLSearchParams(value)) if (!(k in properties)) properties[k] = v;
  }
  const fp = one('x-lxd-fingerprint');
  const filename = one('x-lxd-filename');
  return {
    expectedFingerprint: fp ? fp : undefined,
    filename: filename ? filename : undefined,
    public: ['true', '1', 'yes', 'on'].includes((one('x-lxd-public') ?? '').toLowerCase()),
    properties,
  };
}

/** PUT /1.0/images/{fp}: replaces public, auto_update, properties and expires_at. */
export function parseImagePut(body: unknown): ImagePatch {
  const o = asObject(body);
  checkProfiles(o.profiles);
  return {
    public: bool(o.public, 'public') ?? false,
    autoUpdate: bool(o.auto_update, 'auto_update') ?? false,
    properties: props(o.properties) ?? {},
    expiresAt: expiry(o.expires_at) ?? null,
  };
}

/** PATCH /1.0/images/{fp}: only the given fields; properties merge key by key over the current ones. */
export function parseImagePatch(body: unknown, currentProperties: Record<string, string>): ImagePatch {
  const o = asObject(body);
  checkProfiles(o.profiles);
  const given = props(o.properties);
  return {
    public: bool(o.public, 'public'),
    autoUpdate: bool(o.auto_update, 'auto_update'),
    properties: given ? { ...currentProperties, ...given } : undefined,
    expiresAt: 'expires_at' in o ? (expiry(o.expires_at) ?? null) : undefined,
  };
}

export interface NewAlias {
  name: string;
  target: string;
  description: string;
}

/** POST /1.0/images/aliases: {name, target, description}. */
export function parseAliasPost(body: unknown): NewAlias {
  const o = asObject(body);
  const name = str(o.name, 'name') ?? '';
  const target = str(o.target, 'target') ?? '';
  if (name === '' || target === '') throw new InvalidArgumentError('name and target are required');
  checkAliasName(name);
  return { name, target, description: str(o.description, 'description') ?? '' };
}

/** PUT /1.0/images/aliases/{name}: {target, description}, target required. */
export function parseAliasPut(body: unknown): { target: string; description: string } {
  const o = asObject(body);
  const target = str(o.target, 'target') ?? '';
  if (target === '') throw new InvalidArgumentError('The target field is required');
  return { target, description: str(o.description, 'description') ?? '' };
}

/** PATCH /1.0/images/aliases/{name}: target and/or description. */
export function parseAliasPatch(body: unknown): { target?: string; description?: string } {
  const o = asObject(body);
  const target = str(o.target, 'target');
  if (target === '') throw new InvalidArgumentError('The target field is required');
  return { target, description: str(o.description, 'description') };
}

/** POST /1.0/images/aliases/{name} (rename): {name}. */
export function parseAliasRename(body: unknown): string {
  const name = str(asObject(body).name, 'name') ?? '';
  if (name === '') throw new InvalidArgumentError('name is required');
  checkAliasName(name);
  return name;
}

function checkAliasName(name: string): void {
  // slashes are fine (Juju's "juju/ubuntu@22.04/amd64"); control characters never are
  if (/[\x00-\x1f\x7f]/.test(name)) throw new InvalidArgumentError(`Invalid alias name "${name.replace(/[\x00-\x1f\x7f]/g, '?')}"`);
}

function checkProfiles(v: unknown): void {
  if (v === undefined || v === null) return;
  if (!Array.isArray(v) || v.some((p) => typeof p !== 'string')) throw new InvalidArgumentError('Invalid profiles: expected a list of names');
  if (v.length !== IMAGE_PROFILES.length || v.some((p, i) => p !== IMAGE_PROFILES[i])) {
    throw new NotSupportedError('Per-image profiles are not supported: every image uses the "default" profile');
  }
}

function asObject(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new InvalidArgumentError('Invalid request body: expected a JSON object');
  return body as Record<string, unknown>;
}

function bool(v: unknown, field: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new InvalidArgumentError(`Invalid ${field}: expected true or false`);
  return v;
}

function str(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new InvalidArgumentError(`Invalid ${field}: expected a string`);
  return v;
}

function props(v: unknown): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    throw new InvalidArgumentError('Invalid properties: expected an object of string values');
  }
  return { ...(v as Record<string, string>) };
}

/** An RFC 3339 time; Go's zero time (what clients send back for "never") is no expiry. */
function expiry(v: unknown): Date | undefined {
  if (v === undefined || v === null || v === '' || v === GO_ZERO_TIME) return undefined;
  if (typeof v !== 'string') throw new InvalidArgumentError('Invalid expires_at: expected an RFC 3339 time');
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new InvalidArgumentError(`Invalid expires_at "${v}": expected an RFC 3339 time`);
  return d.getTime() <= 0 ? undefined : d;
}
