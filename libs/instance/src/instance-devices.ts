/**
 * An instance's devices made real at start, as LXD 5.0 does them: `disk` devices with a host
 * source are bound in; `unix-char` / `unix-block` nodes are made with mknod as host root in the
 * instance's private devices directory (owner mapped into the container's id map, the mode asked
 * for), bound onto their path in the container and allowed in its device cgroup. `none` entries
 * are gone already (expandConfig masks the inherited device). The root disk is the storage pool's.
 */
import { execFile } from 'node:child_process';
import { chownSync, mkdirSync, rmSync, statSync, Stats } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { InvalidArgumentError, NotSupportedError, SystemError } from '@lodge/common';
import { isRootDisk, parseBool } from '@lodge/config';
import type { DeviceConfig, Devices } from '@lodge/config';
import { BindMount, DeviceRule, hostId, IdMapEntry } from '@lodge/runtime';

const run = promisify(execFile);

export interface DeviceContext {
  /** the instance's private directory for device nodes; made here, removed by removeDeviceNodes */
  nodesDir: string;
  privileged: boolean;
  /** container id -> host id (unprivileged instances) */
  uidMap: readonly IdMapEntry[];
  gidMap: readonly IdMapEntry[];
}

/** What the runtime needs to show the devices to the container. */
export interface PreparedDevices {
  binds: BindMount[];
  devices: DeviceRule[];
}

/**
 * Prepares every device of an expanded device map, in name order (a deterministic first error).
 * A missing source fails the start unless the device is optional; on failure the nodes made so
 * far are removed.
 */
export async function prepareDevices(devices: Readonly<Devices>, ctx: DeviceContext): Promise<PreparedDevices> {
  const out: PreparedDevices = { binds: [], devices: [] };
  rmSync(ctx.nodesDir, { recursive: true, force: true }); // leftovers of a start that was cut short
  try {
    for (const name of Object.keys(devices).sort()) {
      const d = devices[name];
      if (d.type === 'disk' && !isRootDisk(d)) addDisk(name, d, out);
      else if (d.type === 'unix-char' || d.type === 'unix-block') await addUnixNode(name, d, ctx, out);
    }
    return out;
  } catch (err) {
    removeDeviceNodes(ctx.nodesDir);
    throw err;
  }
}

/** Removes an instance's device nodes (at stop, on a failed start, at delete). */
export function removeDeviceNodes(nodesDir: string): void {
  rmSync(nodesDir, { recursive: true, force: true });
}

/** LXD: "required" (default true), or its older inverse "optional". */
function isRequired(d: DeviceConfig): boolean {
  if (d.required) return parseBool(d.required);
  if (d.optional) return !parseBool(d.optional);
  return true;
}

function flag(v: string | undefined): boolean {
  return !!v && parseBool(v);
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function addDisk(name: string, d: DeviceConfig, out: PreparedDevices): void {
  if (d.pool) throw new NotSupportedError(`Device "${name}": custom storage volumes are not supported, only host paths`);
  if (!statOrUndefined(d.source)) {
    if (isRequired(d)) throw new InvalidArgumentError(`Missing source path "${d.source}" for disk "${name}"`);
    return;
  }
  out.binds.push({ source: d.source, target: d.path, readonly: flag(d.readonly), recursive: flag(d.recursive), shift: flag(d.shift) });
}

async function addUnixNode(name: string, d: DeviceConfig, ctx: DeviceContext, out: PreparedDevices): Promise<void> {
  const char = d.type === 'unix-char';
  const hostPath = d.source || d.path;
  const target = d.path || d.source;
  const source = statOrUndefined(hostPath);
  let major: number;
  let minor: number;
  if (d.major && d.minor) {
    major = Number(d.major);
    minor = Number(d.minor);
  } else {
    if (!source) {
      if (isRequired(d)) throw new InvalidArgumentError(`Missing source path "${hostPath}" for device "${name}"`);
      return;
    }
    if (char ? !source.isCharacterDevice() : !source.isBlockDevice()) {
      throw new InvalidArgumentError(`Device "${name}": "${hostPath}" is not a ${char ? 'character' : 'block'} device`);
    }
    ({ major, minor } = splitDeviceNumber(source.rdev));
  }
  // LXD: the mode asked for, else the source's, else 0660
  const mode = d.mode ? parseInt(d.mode, 8) : source ? source.mode & 0o7777 : 0o660;
  const uid = hostOwner(d.uid, ctx.privileged, ctx.uidMap, `uid of device "${name}"`);
  const gid = hostOwner(d.gid, ctx.privileged, ctx.gidMap, `gid of device "${name}"`);

  mkdirSync(ctx.nodesDir, { recursive: true, mode: 0o711 });
  const node = join(ctx.nodesDir, `unix.${name}`);
  try {
    await run('mknod', ['-m', mode.toString(8), node, char ? 'c' : 'b', String(major), String(minor)]);
    chownSync(node, uid, gid);
  } catch (err) {
    const msg = (err as { stderr?: string }).stderr?.trim() || (err instanceof Error ? err.message : String(err));
    throw new SystemError(`make the node of device "${name}"`, 'mknod', msg, { cause: err });
  }
  out.binds.push({ source: node, target });
  out.devices.push({ type: char ? 'c' : 'b', major, minor });
}

/** A container uid/gid (default 0) as the host id its node file gets. */
function hostOwner(value: string | undefined, privileged: boolean, map: readonly IdMapEntry[], what: string): number {
  const id = value ? Number(value) : 0;
  if (privileged) return id;
  const host = hostId(map, id);
  if (host === undefined) throw new InvalidArgumentError(`The ${what} (${id}) is outside the instance's id map`);
  return host;
}

/** Linux dev_t as stat reports it: major in bits 8-19 and 32-43, minor in bits 0-7 and 20-31. */
function splitDeviceNumber(rdev: number): { major: number; minor: number } {
  const high = Math.floor(rdev / 2 ** 32);
  const low = rdev >>> 0;
  return {
    major: ((low >>> 8) & 0xfff) | ((high & 0xfffff000) >>> 0),
    minor: (low & 0xff) | ((low >>> 12) & 0xfff00),
  };
}
