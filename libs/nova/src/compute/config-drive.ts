import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { InvalidArgumentError } from '@lodge/common';
import type { NovaObject } from '../objects/nova-object';

/** Where the config drive appears inside the container (nova-lxd's and cloud-init's path). */
export const CONFIG_DRIVE_PATH = '/config-drive';

export interface ConfigDriveInput {
  instance: NovaObject;
  /** [path, base64 contents] as nova sends injected_files */
  injectedFiles: unknown;
  adminPassword: string | null;
}

/**
 * Writes an OpenStack config drive tree (openstack/latest/meta_data.json, user_data,
 * vendor_data.json, network_data.json, and injected files under openstack/content/) into `dir`,
 * which the container gets read-only at /config-drive. Validates everything before writing.
 */
export function writeConfigDrive(dir: string, input: ConfigDriveInput): void {
  const { instance } = input;
  const files = decodeInjectedFiles(input.injectedFiles);
  const userData = instance.get('user_data');
  if (userData !== null && userData !== undefined && typeof userData !== 'string') throw new InvalidArgumentError('user_data must be base64 text or null');
  const meta: Record<string, unknown> = {
    uuid: instance.str('uuid'),
    name: instance.get('display_name') ?? null,
    hostname: instance.get('hostname') ?? null,
    launch_index: instance.get('launch_index') ?? 0,
    availability_zone: instance.get('availability_zone') ?? null,
    project_id: instance.get('project_id') ?? null,
    meta: stringMap(instance.get('metadata')),
    public_keys: instance.get('key_name') && instance.get('key_data') ? { [String(instance.get('key_name'))]: String(instance.get('key_data')) } : {},
    files: files.map((f, i) => ({ path: f.path, content_path: `/content/${String(i).padStart(4, '0')}` })),
  };
  if (input.adminPassword) meta.admin_pass = input.adminPassword;

  rmSync(dir, { recursive: true, force: true });
  const latest = join(dir, 'openstack', 'latest');
  mkdirSync(latest, { recursive: true, mode: 0o755 });
  writeFileSync(join(latest, 'meta_data.json'), JSON.stringify(meta), { mode: 0o644 });
  writeFileSync(join(latest, 'vendor_data.json'), '{}', { mode: 0o644 });
  writeFileSync(join(latest, 'vendor_data2.json'), '{}', { mode: 0o644 });
  writeFileSync(join(latest, 'network_data.json'), JSON.stringify({ links: [], networks: [], services: [] }), { mode: 0o644 });
  if (typeof userData === 'string' && userData) writeFileSync(join(latest, 'user_data'), Buffer.from(userData, 'base64'), { mode: 0o644 });
  files.forEach((f, i) => {
    const p = join(dir, 'openstack', 'content', String(i).padStart(4, '0'));
    mkdirSync(dirname(p), { recursive: true, mode: 0o755 });
    writeFileSync(p, f.content, { mode: 0o644 });
  });
}

function decodeInjectedFiles(v: unknown): Array<{ path: string; content: Buffer }> {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v)) throw new InvalidArgumentError('injected_files must be a list of [path, contents]');
  return v.map((entry, i) => {
    if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string' || typeof entry[1] !== 'string') {
      throw new InvalidArgumentError(`injected_files[${i}] must be [path, base64 contents]`);
    }
    const path = normalize(entry[0]);
    if (!path.startsWith('/')) throw new InvalidArgumentError(`injected file path ${entry[0]} is not absolute`);
    if (!/^[A-Za-z0-9+/=\s]*$/.test(entry[1])) throw new InvalidArgumentError(`injected file ${entry[0]}: contents are not base64`);
    return { path, content: Buffer.from(entry[1], 'base64') };
  });
}

function stringMap(v: unknown): Record<string, string> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return {};
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) out[k] = String(val);
  return out;
}
