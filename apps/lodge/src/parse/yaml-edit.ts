/**
 * The YAML people see and edit in `config show|edit` and `profile show|edit`: only the fields a
 * PUT accepts, in LXD's order, and back to a PUT body with its types checked so a typo is a
 * clear error rather than a half-applied change.
 */
import { parse, stringify } from 'yaml';

export const INSTANCE_WRITABLE = ['architecture', 'config', 'devices', 'ephemeral', 'profiles', 'stateful', 'description'] as const;
export const PROFILE_WRITABLE = ['config', 'description', 'devices'] as const;

export function pick(obj: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) if (obj[f] !== undefined) out[f] = obj[f];
  return out;
}

export function toYaml(obj: unknown): string {
  return stringify(obj, { lineWidth: 0 });
}

/** Parses edited YAML into a PUT body holding only `fields`, all values of config as strings. */
export function fromYaml(text: string, fields: readonly string[]): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new Error(`Invalid YAML: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error('Invalid YAML: expected a mapping');
  const body = pick(doc as Record<string, unknown>, fields);
  if (body.config !== undefined) body.config = stringMap('config', body.config);
  if (body.devices !== undefined) {
    const devices = mapOf('devices', body.devices);
    body.devices = Object.fromEntries(Object.entries(devices).map(([k, v]) => [k, stringMap(`devices.${k}`, v)]));
  }
  if (body.profiles !== undefined && (!Array.isArray(body.profiles) || body.profiles.some((p) => typeof p !== 'string'))) {
    throw new Error('Invalid YAML: profiles must be a list of names');
  }
  return body;
}

function mapOf(what: string, v: unknown): Record<string, unknown> {
  if (v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new Error(`Invalid YAML: ${what} must be a mapping`);
  return v as Record<string, unknown>;
}

/** Config values are strings on the wire; YAML turns `true` or `512` into other types, so convert back. */
function stringMap(what: string, v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(mapOf(what, v))) {
    if (val !== null && typeof val === 'object') throw new Error(`Invalid YAML: ${what}.${k} must be a plain value`);
    out[k] = val === null ? '' : String(val);
  }
  return out;
}
