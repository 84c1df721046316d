/**
 * Reading image archives before anything is unpacked: compression detection, a decompressed
 * stream of a tarball, and one validating pass over its entries with tar-stream.
 *
 * Rules (each breach is an InvalidArgumentError and the import leaves nothing behind):
 * - no absolute member names, no ".." components;
 * - outside rootfs/ only regular files and directories (metadata.yaml, templates/...);
 * - in the rootfs: symlinks may be absolute (they resolve inside the container) but a relative
 *   one must not climb above the rootfs; hardlinks must target an earlier entry inside the
 *   rootfs; no entry may be written through a symlink laid down by an earlier entry;
 * - device nodes inside the rootfs are SKIPPED (not unpacked, listed in the result): an
 *   unprivileged container cannot open them anyway, and the runtime gives every container its
 *   own /dev. Device nodes anywhere else refuse the archive.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract, Header as Headers } from 'tar-stream';
import { InvalidArgumentError, SystemError } from '@lodge/common';
import { MAX_METADATA_BYTES } from './metadata';

export type Compression = 'none' | 'gzip' | 'xz' | 'zstd' | 'bzip2';
export type FileFormat = { kind: 'tar'; compression: Compression } | { kind: 'squashfs' };

/** Sniffs the first bytes of a file. */
export async function detectFormat(path: string): Promise<FileFormat> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(512);
    const { bytesRead } = await fh.read(buf, 0, 512, 0);
    const b = buf.subarray(0, bytesRead);
    if (b.subarray(0, 4).toString('latin1') === 'hsqs') return { kind: 'squashfs' };
    if (b[0] === 0x1f && b[1] === 0x8b) return { kind: 'tar', compression: 'gzip' };
    if (b.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return { kind: 'tar', compression: 'xz' };
    if (b.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return { kind: 'tar', compression: 'zstd' };
    if (b.subarray(0, 3).toString('latin1') === 'BZh') return { kind: 'tar', compression: 'bzip2' };
    if (bytesRead >= 262 && b.subarray(257, 262).toString('latin1') === 'ustar') return { kind: 'tar', compression: 'none' };
    throw new InvalidArgumentError('unsupported image file: not a tarball (plain, gzip, xz, zstd, bzip2) or squashfs');
  } finally {
    await fh.close();
  }
}

/** The decompressed bytes of a tarball; xz, zstd and bzip2 through their standard tools. */
export function decompressedStream(path: string, compression: Compression): { stream: Readable; done: Promise<void> } {
  if (compression === 'none') return { stream: createReadStream(path), done: Promise.resolve() };
  if (compression === 'gzip') {
    const out = new PassThrough();
    const done = pipeline(createReadStream(path), createGunzip(), out);
    return { stream: out, done };
  }
  const tool = { xz: 'xz', zstd: 'zstd', bzip2: 'bzip2' }[compression];
  const child = spawn(tool, ['-dc', '--', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()).slice(0, 4000));
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (err) => reject(new SystemError(tool, (err as NodeJS.ErrnoException).code ?? 'EFAIL', `cannot run ${tool}`)));
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else if (signal === 'SIGPIPE' || signal === 'SIGTERM') resolve(); // we stopped reading
      else reject(new InvalidArgumentError(`corrupt ${compression} data: ${stderr.trim() || `${tool} exited with ${code}`}`));
    });
  });
  return { stream: child.stdout, done };
}

/**
 * Whether a tarball has a top-level metadata.yaml, i.e. is a unified image rather than a bare
 * root filesystem (how an image from elsewhere, e.g. Glance, tells which it is). Reads until the
 * member is found; the rest of the archive is checked later by scanArchive.
 */
export async function tarballHasMetadata(path: string): Promise<boolean> {
  const fmt = await detectFormat(path);
  if (fmt.kind !== 'tar') return false;
  const { stream, done } = decompressedStream(path, fmt.compression);
  const ex = extract();
  stream.on('error', (err) => ex.destroy(err));
  stream.pipe(ex as unknown as NodeJS.WritableStream);
  let found = false;
  try {
    for await (const entry of ex) {
      const name = entry.header.name.replace(/^(\.\/)+/, '');
      entry.resume();
      if (name === 'metadata.yaml' && entry.header.type === 'file') {
        found = true;
        break;
      }
    }
  } catch (err) {
    throw new InvalidArgumentError(`corrupt tar archive: ${(err as Error).message}`, { cause: err });
  } finally {
    stream.unpipe();
    stream.destroy();
    ex.destroy();
    await done.catch(() => undefined);
  }
  return found;
}

/** unified: metadata.yaml + rootfs/ + templates/; metadata: the split metadata tarball; rootfs: a split rootfs tarball. */
export type ArchiveLayout = 'unified' | 'metadata' | 'rootfs';

export interface ArchiveScan {
  /** metadata.yaml (unified and metadata layouts) */
  metadataYaml?: string;
  /** templates/<name> -> content */
  templates: Record<string, string>;
  /** the member prefix of the rootfs as GNU tar sees it ("rootfs", "./rootfs", "" or ".") */
  rootfsMember?: string;
  /** rootfs-relative paths of device nodes that are not unpacked */
  skippedDevices: string[];
  entries: number;
}

const MAX_TEMPLATES_BYTES = 16 << 20;

/** Streams the archive once and checks every entry; nothing is written anywhere. */
export async function scanArchive(path: string, layout: ArchiveLayout): Promise<ArchiveScan> {
  const fmt = await detectFormat(path);
  if (fmt.kind !== 'tar') throw new InvalidArgumentError(`${layout === 'rootfs' ? 'rootfs' : 'image'} file is not a tarball`);
  const { stream, done } = decompressedStream(path, fmt.compression);
  const checker = new EntryChecker(layout);
  const ex = extract();
  stream.on('error', (err) => ex.destroy(err));
  stream.pipe(ex as unknown as NodeJS.WritableStream);
  try {
    for await (const entry of ex) {
      const header = entry.header;
      let captured = checker.check(header);
      let capturedBytes = 0;
      for await (const chunk of entry as AsyncIterable<Buffer>) {
        if (!captured) continue;
        capturedBytes += chunk.length;
        if (capturedBytes > MAX_METADATA_BYTES) throw refuse(`"${header.name}" is too large (over ${MAX_METADATA_BYTES} bytes)`);
        captured.push(chunk);
      }
      if (captured) checker.captured(header, Buffer.concat(captured));
      captured = undefined;
    }
  } catch (err) {
    stream.unpipe();
    stream.destroy();
    ex.destroy();
    await done.catch(() => undefined);
    if (err instanceof InvalidArgumentError || err instanceof SystemError) throw err;
    throw new InvalidArgumentError(`corrupt tar archive: ${(err as Error).message}`, { cause: err });
  }
  await done;
  return checker.result();
}

/** The per-entry rules, fed headers in archive order. */
export class EntryChecker {
  private readonly symlinks = new Set<string>();
  private readonly seen = new Map<string, 'dir' | 'other'>();
  private readonly out: ArchiveScan = { templates: {}, skippedDevices: [], entries: 0 };
  private templateBytes = 0;
  private sawRootfs = false;

  constructor(private readonly layout: ArchiveLayout) {}

  /** Checks one header; returns a buffer list when the body must be captured (metadata, templates). */
  check(h: Headers): Buffer[] | undefined {
    this.out.entries++;
    const type = h.type ?? 'file';
    const raw = h.name;
    const parts = splitMember(raw, 'entry');
    const inRootfs = this.layout === 'rootfs' || parts[0] === 'rootfs';
    if (!inRootfs) return this.checkOutside(h, type, parts);

    this.sawRootfs = true;
    if (this.layout === 'unified') {
      const member = raw.startsWith('./') ? './rootfs' : 'rootfs';
      this.out.rootfsMember ??= member;
      if (this.out.rootfsMember !== member) throw refuse(`rootfs entries are named both "rootfs/" and "./rootfs/"`);
    }
    const rel = this.layout === 'rootfs' ? parts : parts.slice(1);
    const relPath = rel.join('/');
    if (rel.length > 0) this.assertNotThroughSymlink(rel, raw);

    switch (type) {
      case 'directory':
        this.replace(relPath, 'dir');
        return undefined;
      case 'file':
      case 'contiguous-file':
      case 'fifo':
        this.replace(relPath, 'other');
        return undefined;
      case 'symlink': {
        const target = h.linkname ?? '';
        if (target === '' || target.includes('\0')) throw refuse(`symlink "${raw}" has no target`);
        if (!target.startsWith('/')) {
          // relative: followed lexically from the link's directory, it must stay in the rootfs
          if (climbsOut(rel.slice(0, -1), target)) throw refuse(`symlink "${raw}" -> "${target}" points out of the rootfs`);
        }
        this.replace(relPath, 'other');
        this.symlinks.add(relPath);
        return undefined;
      }
      case 'link': {
        const target = h.linkname ?? '';
        let tparts: string[];
        try {
          tparts = splitMember(target, 'hardlink target');
        } catch {
          throw refuse(`hardlink "${raw}" -> "${target}" points out of the rootfs`);
        }
        const trel = this.layout === 'rootfs' ? tparts : tparts[0] === 'rootfs' ? tparts.slice(1) : undefined;
        if (!trel || trel.length === 0) throw refuse(`hardlink "${raw}" -> "${target}" points out of the rootfs`);
        const tpath = trel.join('/');
        this.assertNotThroughSymlink(trel, target);
        const kind = this.seen.get(tpath);
        if (kind === undefined) throw refuse(`hardlink "${raw}" -> "${target}": the target is not an earlier entry of the rootfs`);
        if (kind === 'dir') throw refuse(`hardlink "${raw}" -> "${target}" targets a directory`);
        this.replace(relPath, 'other');
        // link(2) does not follow symlinks: a hardlink to a symlink is another symlink
        if (this.symlinks.has(tpath)) this.symlinks.add(relPath);
        return undefined;
      }
      case 'character-device':
      case 'block-device':
        this.out.skippedDevices.push(relPath);
        return undefined;
      default:
        throw refuse(`entry "${raw}" has an unsupported type (${type})`);
    }
  }

  private checkOutside(h: Headers, type: string, parts: string[]): Buffer[] | undefined {
    const raw = h.name;
    if (this.layout === 'metadata' && parts[0] === 'rootfs') throw refuse(`the metadata tarball must not hold a rootfs ("${raw}")`);
    if (type === 'character-device' || type === 'block-device') throw refuse(`device node "${raw}" outside the rootfs`);
    if (type === 'directory') return undefined;
    if (type !== 'file' && type !== 'contiguous-file') {
      throw refuse(`"${raw}" (${type}) outside the rootfs: only regular files and directories are allowed there`);
    }
    if (parts.length === 1 && parts[0] === 'metadata.yaml') {
      if (this.out.metadataYaml !== undefined) throw refuse('the archive holds metadata.yaml twice');
      return [];
    }
    if (parts[0] === 'templates' && parts.length === 2) {
      this.templateBytes += h.size ?? 0;
      if (this.templateBytes > MAX_TEMPLATES_BYTES) throw refuse(`the templates exceed ${MAX_TEMPLATES_BYTES} bytes`);
      return [];
    }
    return undefined; // other files beside the rootfs are ignored (never unpacked)
  }

  captured(h: Headers, body: Buffer): void {
    const parts = splitMember(h.name, 'entry');
    if (parts[0] === 'metadata.yaml') this.out.metadataYaml = body.toString('utf8');
    else if (parts[0] === 'templates') this.out.templates[parts[1]] = body.toString('utf8');
  }

  result(): ArchiveScan {
    if (this.layout !== 'rootfs' && this.out.metadataYaml === undefined) {
      throw new InvalidArgumentError('the image has no metadata.yaml at the top level');
    }
    if (this.layout === 'unified' && !this.sawRootfs) throw new InvalidArgumentError('the image has no rootfs/ directory');
    if (this.layout === 'rootfs') this.out.rootfsMember = '.';
    return this.out;
  }

  private assertNotThroughSymlink(rel: string[], raw: string): void {
    for (let i = 1; i < rel.length; i++) {
      const prefix = rel.slice(0, i).join('/');
      if (this.symlinks.has(prefix)) throw refuse(`entry "${raw}" would be written through the symlink "${prefix}"`);
    }
  }

  /** An entry replaces whatever an earlier one put at the same path. */
  private replace(relPath: string, kind: 'dir' | 'other'): void {
    this.symlinks.delete(relPath);
    this.seen.set(relPath, kind);
  }
}

/** Member name -> components without "." and empty ones; refuses absolute names and "..". */
export function splitMember(name: string, what: string): string[] {
  if (typeof name !== 'string' || name.includes('\0')) throw refuse(`${what} has an invalid name`);
  if (name.includes('\n')) throw refuse(`${what} "${name.replace(/\n/g, '\\n')}" has a newline in its name`);
  if (name.startsWith('/')) throw refuse(`${what} "${name}" has an absolute path`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw refuse(`${what} "${name}" contains ".."`);
  return parts;
}

/** Does a relative symlink target, followed from directory `dir` (components), climb above the root? */
export function climbsOut(dir: string[], target: string): boolean {
  let depth = dir.length;
  for (const p of target.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') {
      depth--;
      if (depth < 0) return true;
    } else depth++;
  }
  return false;
}

function refuse(msg: string): InvalidArgumentError {
  return new InvalidArgumentError(`unsafe image archive: ${msg}`);
}
