/**
 * Renders an image's `templates:` rules into an instance rootfs (a host path), as LXD does on
 * create, copy, start and rename. Files are written relative to the UNSHIFTED rootfs: a new
 * file belongs to the rule's uid/gid (default 0:0, container root) with the rule's mode (default
 * 0644); an existing file is truncated and keeps its owner and mode unless the rule sets them.
 *
 * Every path stays inside the rootfs: symlinks met on the way are resolved as the container
 * would see them (absolute targets from the rootfs, ".." stops at its top), and the final open
 * uses O_NOFOLLOW. Render only while the instance is stopped (its own processes could otherwise
 * swap a directory for a symlink between the check and the open).
 */
import { constants } from 'node:fs';
import { lstat, mkdir, open, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, NotFoundError } from '@lodge/common';
import { ImageMetadata, TemplateTrigger, TEMPLATE_TRIGGERS } from './metadata';
import { renderTemplate, TemplateContext, TemplateValue } from './template-engine';

/** What rendering needs from an image: its metadata and the text of its templates/ files. */
export interface TemplateBundle {
  metadata: ImageMetadata;
  templates: Record<string, string>;
}

/** The instance as templates see it (`container.*` / `instance.*`, `config`, `devices`). */
export interface TemplateInstance {
  name: string;
  architecture?: string;
  privileged?: boolean;
  ephemeral?: boolean;
  config?: Record<string, string>;
  devices?: Record<string, Record<string, string>>;
}

export interface RenderOptions {
  /** added to file owners: for a rootfs whose owners were shifted by chown (default 0) */
  idOffset?: { uid: number; gid: number };
}

const MAX_SYMLINK_HOPS = 40;

/** Renders every rule triggered by `trigger`; returns the container paths written. */
export async function renderTemplates(
  bundle: TemplateBundle,
  rootfs: string,
  trigger: TemplateTrigger,
  instance: TemplateInstance,
  options: RenderOptions = {},
): Promise<string[]> {
  if (!(TEMPLATE_TRIGGERS as readonly string[]).includes(trigger)) {
    throw new InvalidArgumentError(`unknown template trigger "${trigger}" (one of ${TEMPLATE_TRIGGERS.join(', ')})`);
  }
  if (!instance || typeof instance.name !== 'string' || !instance.name) throw new InvalidArgumentError('templates need the instance name');
  const root = await lstat(rootfs).catch(() => undefined);
  if (!root?.isDirectory()) throw new NotFoundError(`rootfs "${rootfs}" is not a directory`);
  const offset = options.idOffset ?? { uid: 0, gid: 0 };
  const written: string[] = [];
  for (const [path, rule] of Object.entries(bundle.metadata.templates).sort(([a], [b]) => a.localeCompare(b))) {
    if (!rule.when.includes(trigger)) continue;
    const source = bundle.templates[rule.template];
    if (source === undefined) throw new InvalidArgumentError(`template "${rule.template}" for ${path} is missing from the image's templates/`);
    const content = renderTemplate(source, templateContext(instance, trigger, path, rule.properties), rule.template);
    const ok = await writeConfined(rootfs, path, content, {
      createOnly: rule.create_only,
      uid: rule.uid,
      gid: rule.gid,
      mode: rule.mode,
      offset,
    });
    if (ok) written.push(path);
  }
  return written;
}

/** The variables LXD gives a template. */
export function templateContext(instance: TemplateInstance, trigger: TemplateTrigger, path: string, properties: Record<string, string>): TemplateContext {
  const config = { ...(instance.config ?? {}) };
  const self: TemplateValue = {
    name: instance.name,
    architecture: instance.architecture ?? '',
    privileged: instance.privileged ?? false,
    ephemeral: instance.ephemeral ?? false,
  };
  return {
    trigger,
    path,
    container: self,
    instance: self,
    config,
    devices: (instance.devices ?? {}) as TemplateValue,
    properties: { ...properties },
    config_get: (key: TemplateValue, fallback: TemplateValue) => {
      const k = String(key ?? '');
      return Object.prototype.hasOwnProperty.call(config, k) ? config[k] : fallback;
    },
  };
}

interface WriteOptions {
  createOnly: boolean;
  uid?: number;
  gid?: number;
  mode?: number;
  offset: { uid: number; gid: number };
}

/** Writes `content` at container path `path` under `rootfs`; false when create_only skipped it. */
async function writeConfined(rootfs: string, path: string, content: string, o: WriteOptions): Promise<boolean> {
  const rel = await resolveInRoot(rootfs, path, o.offset);
  const host = join(rootfs, ...rel);
  const st = await lstat(host).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
  if (st && !st.isFile()) throw new InvalidArgumentError(`template target ${path} exists and is not a regular file`);
  if (st && o.createOnly) return false;
  const fh = await open(host, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
  try {
    const fst = await fh.stat();
    if (!fst.isFile()) throw new InvalidArgumentError(`template target ${path} is not a regular file`);
    if (!st || o.uid !== undefined || o.gid !== undefined) {
      const uid = o.uid !== undefined || !st ? (o.uid ?? 0) + o.offset.uid : fst.uid;
      const gid = o.gid !== undefined || !st ? (o.gid ?? 0) + o.offset.gid : fst.gid;
      await fh.chown(uid, gid);
    }
    if (!st || o.mode !== undefined) await fh.chmod(o.mode ?? 0o644);
    await fh.writeFile(content);
  } finally {
    await fh.close();
  }
  return true;
}

/**
 * Resolves a container path to rootfs-relative components the way the container would (symlinks
 * included, confined to the rootfs). Missing parent directories are created (0755, root).
 */
export async function resolveInRoot(rootfs: string, path: string, offset = { uid: 0, gid: 0 }): Promise<string[]> {
  let pending = path.split('/').filter((p) => p && p !== '.');
  const done: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const [part, ...rest] = pending;
    pending = rest;
    if (part === '..') {
      done.pop();
      continue;
    }
    const host = join(rootfs, ...done, part);
    const st = await lstat(host).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    });
    if (st?.isSymbolicLink()) {
      if (++hops > MAX_SYMLINK_HOPS) throw new InvalidArgumentError(`too many symlinks resolving ${path} in the rootfs`);
      const target = await readlink(host);
      const tparts = target.split('/').filter((p) => p && p !== '.');
      if (target.startsWith('/')) done.length = 0;
      pending = [...tparts, ...pending];
      continue;
    }
    if (pending.length === 0) {
      done.push(part); // the file itself (may not exist yet)
      break;
    }
    if (!st) {
      await mkdir(host, { mode: 0o755 });
      const dir = await open(host, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
      try {
        await dir.chown(offset.uid, offset.gid);
        await dir.chmod(0o755);
      } finally {
        await dir.close();
      }
    } else if (!st.isDirectory()) {
      throw new InvalidArgumentError(`cannot render ${path}: "/${[...done, part].join('/')}" is not a directory in the rootfs`);
    }
    done.push(part);
  }
  if (done.length === 0) throw new InvalidArgumentError(`template path ${path} resolves to the rootfs itself`);
  return done;
}
