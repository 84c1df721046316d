/**
 * The image store: imports unified and split LXD images into a directory (by default
 * `<LODGE_DIR>/images`), keeps the original files for export, and unpacks an image once into a
 * storage pool through StorageDriver.createImageVolume. No database here: the daemon persists
 * the returned plain objects through libs/state.
 *
 *   <dir>/<fp>              the unified tarball, or the metadata tarball of a split image
 *   <dir>/<fp>.rootfs       the rootfs of a split image (tarball or squashfs)
 *   <dir>/<fp>.json         what the import learnt: format, metadata, templates, skipped devices
 *
 * Fingerprint: sha256 of the unified file; for a split image sha256(metadata bytes ++ rootfs
 * bytes), as LXD computes it. Uploads are hashed while they are written to a temporary file;
 * every archive is checked entry by entry (archive.ts) before anything is unpacked.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Inject, Injectable } from '@nestjs/common';
import { AlreadyExistsError, InUseError, InvalidArgumentError, NotFoundError, Reverter, SystemError } from '@lodge/common';
import { StorageDriver } from '@lodge/storage';
import { detectFormat, FileFormat, scanArchive } from './archive';
import { ImageMetadata, parseMetadata, TemplateTrigger } from './metadata';
import { RenderOptions, renderTemplates, TemplateBundle, TemplateInstance } from './templates';
import { runTool } from './tool';

export const IMAGE_STORE_DIR = Symbol('IMAGE_STORE_DIR');
export const IMAGE_STORE_POOL = Symbol('IMAGE_STORE_POOL');

/** A file path, a stream, or a thunk resolved only when the source is read (a later multipart part). */
export type ImageSource = string | Readable | (() => Promise<Readable>);

/** A received and checked upload, not yet listed: commitStaged() or discard() it. */
export interface StagedImage {
  readonly fingerprint: string;
  readonly format: 'unified' | 'split';
  /** removes the temporary files; a no-op once committed */
  discard(): Promise<void>;
}

export interface ImageInfo {
  fingerprint: string;
  /** bytes of the image file(s) */
  size: number;
  architecture: string;
  properties: Record<string, string>;
  /** ISO 8601, from metadata.yaml creation_date */
  created_at: string;
  /** ISO 8601, from metadata.yaml expiry_date; null when it never expires */
  expires_at: string | null;
  /** ISO 8601: when this store imported it */
  uploaded_at: string;
  type: 'container';
  format: 'unified' | 'split';
  /** suggested download name of the (metadata) file */
  filename: string;
  metadata: ImageMetadata;
  /** rootfs paths of device nodes that are not unpacked (see archive.ts) */
  skipped_devices: string[];
}

export interface ImageExport {
  format: 'unified' | 'split';
  /** the unified tarball, or the metadata tarball */
  metadata: { path: string; filename: string };
  rootfs?: { path: string; filename: string };
}

export interface ImportOptions {
  /** refuse unless the content hashes to this (LXD's X-LXD-fingerprint) */
  expectedFingerprint?: string;
  /** name the upload had (LXD's X-LXD-filename) */
  filename?: string;
  /** unpack into the store's pool right away (default true) */
  unpack?: boolean;
}

interface StoredRecord {
  format: 'unified' | 'split';
  metadataFile: { format: FileFormat; filename: string };
  rootfsFile?: { format: FileFormat; filename: string };
  rootfsMember: string;
  metadataYaml: string;
  templates: Record<string, string>;
  skippedDevices: string[];
  uploadedAt: string;
}

interface PendingCommit {
  record: StoredRecord;
  moves: Array<[string, string]>;
  reverter: Reverter;
}

const FP_RE = /^[a-f0-9]{64}$/;
const TMP_PREFIX = '.upload-';

@Injectable()
export class ImageStore {
  private readonly pending = new WeakMap<StagedImage, PendingCommit>();
  private readonly committing = new Set<string>();

  constructor(
    @Inject(IMAGE_STORE_DIR) readonly dir: string,
    @Inject(IMAGE_STORE_POOL) readonly pool: StorageDriver,
  ) {
    if (typeof dir !== 'string' || !dir.startsWith('/')) throw new InvalidArgumentError('the image store directory must be absolute');
  }

  // ------------------------------------------------------------------ import

  /** Imports a unified image (metadata.yaml + rootfs/ + templates/ in one tarball). */
  async importUnified(source: ImageSource, options: ImportOptions = {}): Promise<ImageInfo> {
    return this.commitStaged(await this.stageUnified(source, options), options);
  }

  /** Imports a split image: a metadata tarball and a rootfs (tarball or squashfs). */
  async importSplit(metadataSource: ImageSource, rootfsSource: ImageSource, options: ImportOptions = {}): Promise<ImageInfo> {
    return this.commitStaged(await this.stageSplit(metadataSource, rootfsSource, options), options);
  }

  /**
   * First half of a unified import: receives the tarball into a temporary file, hashes and checks
   * it entry by entry. Nothing is listed or unpacked yet; a refusal leaves nothing behind.
   */
  async stageUnified(source: ImageSource, options: ImportOptions = {}): Promise<StagedImage> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const r = new Reverter();
    try {
      const hash = createHash('sha256');
      const tmp = await this.receive(source, hash, r);
      const fp = hash.digest('hex');
      this.checkExpected(fp, options);
      const format = await detectFormat(tmp);
      if (format.kind !== 'tar') throw new InvalidArgumentError('a unified image must be a tarball');
      const scan = await scanArchive(tmp, 'unified');
      parseMetadata(scan.metadataYaml!);
      const record: StoredRecord = {
        format: 'unified',
        metadataFile: { format, filename: options.filename ? basename(options.filename) : `${fp}${tarSuffix(format)}` },
        rootfsMember: scan.rootfsMember!,
        metadataYaml: scan.metadataYaml!,
        templates: scan.templates,
        skippedDevices: scan.skippedDevices,
        uploadedAt: new Date().toISOString(),
      };
      return this.staged(fp, record, [[tmp, this.file(fp)]], r);
    } catch (err) {
      await r.revert();
      throw err;
    }
  }

  /**
   * First half of a split import. The rootfs source is read only after the metadata one is
   * consumed, so both may be parts of one multipart stream (pass the rootfs as a thunk).
   */
  async stageSplit(metadataSource: ImageSource, rootfsSource: ImageSource, options: ImportOptions = {}): Promise<StagedImage> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const r = new Reverter();
    try {
      const hash = createHash('sha256');
      const metaTmp = await this.receive(metadataSource, hash, r);
      const rootTmp = await this.receive(rootfsSource, hash, r);
      const fp = hash.digest('hex');
      this.checkExpected(fp, options);
      const metaFormat = await detectFormat(metaTmp);
      if (metaFormat.kind !== 'tar') throw new InvalidArgumentError('the metadata file of a split image must be a tarball');
      const metaScan = await scanArchive(metaTmp, 'metadata');
      parseMetadata(metaScan.metadataYaml!);
      const rootFormat = await detectFormat(rootTmp);
      let skippedDevices: string[] = [];
      if (rootFormat.kind === 'tar') skippedDevices = (await scanArchive(rootTmp, 'rootfs')).skippedDevices;
      else await checkSquashfs(rootTmp);
      const record: StoredRecord = {
        format: 'split',
        metadataFile: { format: metaFormat, filename: options.filename ? basename(options.filename) : `meta-${fp}${tarSuffix(metaFormat)}` },
        rootfsFile: { format: rootFormat, filename: rootFormat.kind === 'squashfs' ? `${fp}.squashfs` : `${fp}${tarSuffix(rootFormat)}` },
        rootfsMember: '.',
        metadataYaml: metaScan.metadataYaml!,
        templates: metaScan.templates,
        skippedDevices,
        uploadedAt: new Date().toISOString(),
      };
      return this.staged(fp, record, [[metaTmp, this.file(fp)], [rootTmp, this.file(fp) + '.rootfs']], r);
    } catch (err) {
      await r.revert();
      throw err;
    }
  }

  /**
   * Second half of an import: moves the checked files into place, unpacks into the pool (unless
   * `unpack: false`) and lists the image. On failure nothing of the image remains.
   */
  async commitStaged(image: StagedImage, options: Pick<ImportOptions, 'unpack'> = {}): Promise<ImageInfo> {
    const pending = this.pending.get(image);
    if (!pending) throw new InvalidArgumentError(`the upload of image ${image.fingerprint} was already committed or discarded`);
    this.pending.delete(image);
    const r = pending.reverter;
    const fp = image.fingerprint;
    try {
      // two uploads of the same bytes at once: the second must not touch the first one's files
      if (this.committing.has(fp)) throw new AlreadyExistsError('Image with same fingerprint already exists');
      this.committing.add(fp);
      try {
        const info = await this.commit(fp, pending.record, pending.moves, r, options);
        r.commit();
        return info;
      } finally {
        this.committing.delete(fp);
      }
    } finally {
      await r.revert();
    }
  }

  private staged(fp: string, record: StoredRecord, moves: Array<[string, string]>, reverter: Reverter): StagedImage {
    const image: StagedImage = {
      fingerprint: fp,
      format: record.format,
      discard: async () => {
        if (!this.pending.delete(image)) return;
        await reverter.revert();
      },
    };
    this.pending.set(image, { record, moves, reverter });
    return image;
  }

  /** Streams a source into a temporary file of the store, feeding `hash`. */
  private async receive(source: ImageSource, hash: ReturnType<typeof createHash>, r: Reverter): Promise<string> {
    const tmp = join(this.dir, `${TMP_PREFIX}${randomBytes(8).toString('hex')}`);
    r.push('upload temp file', () => rm(tmp, { force: true }));
    if (typeof source === 'function') source = await source();
    let input: Readable;
    if (typeof source === 'string') {
      const st = await stat(source).catch(() => undefined);
      if (!st?.isFile()) throw new NotFoundError(`image file "${source}" not found`);
      input = createReadStream(source);
    } else if (source && typeof (source as Readable).pipe === 'function') {
      input = source;
    } else {
      throw new InvalidArgumentError('an image source is a file path or a readable stream');
    }
    const hasher = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    await pipeline(input, hasher, createWriteStream(tmp, { mode: 0o600, flags: 'wx' }));
    return tmp;
  }

  private checkExpected(fp: string, o: ImportOptions): void {
    if (o.expectedFingerprint !== undefined && o.expectedFingerprint.toLowerCase() !== fp) {
      throw new InvalidArgumentError(`fingerprint mismatch: the upload hashes to ${fp}, expected ${o.expectedFingerprint}`);
    }
  }

  /** True when the image's files are in the store (listed or not by the database). */
  has(fingerprint: string): boolean {
    return existsSync(this.recordPath(this.checkFp(fingerprint)));
  }

  /** LXD's wording for a second import of the same bytes. */
  private checkAbsent(fp: string): void {
    if (existsSync(this.recordPath(fp))) throw new AlreadyExistsError('Image with same fingerprint already exists');
  }

  /** Moves the checked files into place, records them and (by default) unpacks into the pool. */
  private async commit(fp: string, record: StoredRecord, moves: Array<[string, string]>, r: Reverter, o: Pick<ImportOptions, 'unpack'>): Promise<ImageInfo> {
    this.checkAbsent(fp);
    for (const [from, to] of moves) {
      await rename(from, to);
      r.push(`image file ${basename(to)}`, () => rm(to, { force: true }));
    }
    await writeFile(this.recordPath(fp) + '.tmp', JSON.stringify(record), { mode: 0o600 });
    r.push('image record', () => rm(this.recordPath(fp) + '.tmp', { force: true }));
    if (o.unpack ?? true) {
      const hadVolume = await this.pool.hasImageVolume(fp);
      await this.unpackWith(fp, record, this.pool);
      if (!hadVolume) r.push('image volume', () => this.pool.deleteImageVolume(fp));
    }
    // the record appears last: an image is listed only once everything is in place
    await rename(this.recordPath(fp) + '.tmp', this.recordPath(fp));
    r.push('image record', () => rm(this.recordPath(fp), { force: true }));
    return this.get(fp);
  }

  // ------------------------------------------------------------------ queries

  async get(fingerprint: string): Promise<ImageInfo> {
    const fp = this.checkFp(fingerprint);
    const rec = await this.record(fp);
    const metadata = parseMetadata(rec.metadataYaml);
    let size = (await stat(this.file(fp))).size;
    if (rec.format === 'split') size += (await stat(this.file(fp) + '.rootfs')).size;
    return {
      fingerprint: fp,
      size,
      architecture: metadata.architecture,
      properties: { ...metadata.properties },
      created_at: new Date(metadata.creation_date * 1000).toISOString(),
      expires_at: metadata.expiry_date ? new Date(metadata.expiry_date * 1000).toISOString() : null,
      uploaded_at: rec.uploadedAt,
      type: 'container',
      format: rec.format,
      filename: rec.metadataFile.filename,
      metadata,
      skipped_devices: [...rec.skippedDevices],
    };
  }

  /** Fingerprints of every stored image. */
  async list(): Promise<string[]> {
    if (!existsSync(this.dir)) return [];
    return (await readdir(this.dir))
      .filter((n) => n.endsWith('.json') && FP_RE.test(n.slice(0, -5)))
      .map((n) => n.slice(0, -5))
      .sort();
  }

  /** Finds the one image whose fingerprint starts with `prefix` (LXD accepts short ones). */
  async resolve(prefix: string): Promise<string> {
    if (!/^[a-f0-9]{1,64}$/.test(prefix)) throw new InvalidArgumentError(`invalid fingerprint "${prefix}"`);
    const hits = (await this.list()).filter((fp) => fp.startsWith(prefix));
    if (hits.length === 0) throw new NotFoundError(`image ${prefix} not found`);
    if (hits.length > 1) throw new InvalidArgumentError(`fingerprint prefix ${prefix} is ambiguous`);
    return hits[0];
  }

  /** The original file(s), for GET /1.0/images/<fp>/export. */
  async exportPaths(fingerprint: string): Promise<ImageExport> {
    const fp = this.checkFp(fingerprint);
    const rec = await this.record(fp);
    const out: ImageExport = { format: rec.format, metadata: { path: this.file(fp), filename: rec.metadataFile.filename } };
    if (rec.format === 'split') out.rootfs = { path: this.file(fp) + '.rootfs', filename: rec.rootfsFile!.filename };
    return out;
  }

  /** Metadata and template texts, e.g. for an instance to keep (LXD copies them at create). */
  async templateBundle(fingerprint: string): Promise<TemplateBundle> {
    const fp = this.checkFp(fingerprint);
    let bundle = this.bundles.get(fp);
    if (!bundle) {
      const rec = await this.record(fp);
      bundle = { metadata: parseMetadata(rec.metadataYaml), templates: { ...rec.templates } };
      this.bundles.set(fp, bundle);
    }
    return { metadata: bundle.metadata, templates: { ...bundle.templates } };
  }

  /**
   * Parsed template bundles by fingerprint, read once: an image's content never changes under its
   * fingerprint (it is the content's hash), so only a delete forgets one. Every start of an
   * instance reads its image's bundle.
   */
  private readonly bundles = new Map<string, TemplateBundle>();

  // ------------------------------------------------------------------ pools, templates, delete

  /** Unpacks the image into `pool` once (idempotent); returns the image rootfs in the pool. */
  async unpackInto(fingerprint: string, pool: StorageDriver = this.pool): Promise<string> {
    const fp = this.checkFp(fingerprint);
    return this.unpackWith(fp, await this.record(fp), pool);
  }

  private async unpackWith(fp: string, rec: StoredRecord, pool: StorageDriver): Promise<string> {
    const vol = await pool.createImageVolume(fp, (target) => this.unpackRootfs(fp, rec, target));
    return vol.rootfs;
  }

  /** GNU tar or unsquashfs into `target` (a fresh directory the pool renames into place). */
  private async unpackRootfs(fp: string, rec: StoredRecord, target: string): Promise<void> {
    const file = rec.format === 'split' ? this.file(fp) + '.rootfs' : this.file(fp);
    const fmt = rec.format === 'split' ? rec.rootfsFile!.format : rec.metadataFile.format;
    if (fmt.kind === 'squashfs') {
      // -f: the target exists (empty); owners, modes and xattrs are kept (we run as root)
      await runTool('unsquashfs', ['-f', '-n', '-d', target, file]);
      await removeDevices(target);
      return;
    }
    const args = [
      '--extract',
      `--file=${file}`,
      `--directory=${target}`,
      '--numeric-owner',
      '--same-owner',
      '--same-permissions',
      '--xattrs',
      '--xattrs-include=*',
      // overlayfs's own xattrs must never come from an image (it uses the image as a lower layer)
      '--xattrs-exclude=trusted.overlay.*',
    ];
    const member = rec.rootfsMember;
    if (member !== '.') args.push(`--strip-components=${member.startsWith('./') ? 2 : 1}`);
    let excludeFile: string | undefined;
    if (rec.skippedDevices.length > 0) {
      // device nodes are skipped (see archive.ts): exact member names, no wildcards
      excludeFile = join(this.dir, `${TMP_PREFIX}exclude-${randomBytes(6).toString('hex')}`);
      const prefix = member === '.' ? '' : `${member}/`;
      const names = rec.skippedDevices.flatMap((p) => (member === '.' ? [p, `./${p}`] : [`${prefix}${p}`]));
      await writeFile(excludeFile, names.join('\n') + '\n', { mode: 0o600 });
      args.push('--no-wildcards', '--anchored', `--exclude-from=${excludeFile}`);
    }
    try {
      if (member !== '.') args.push('--', member);
      await runTool('tar', args);
      if (rec.skippedDevices.length > 0) await removeDevices(target);
    } finally {
      if (excludeFile) await rm(excludeFile, { force: true });
    }
  }

  /** Renders the image's templates for `trigger` into a rootfs; returns the paths written. */
  async renderTemplates(
    image: string | TemplateBundle,
    rootfs: string,
    trigger: TemplateTrigger,
    instance: TemplateInstance,
    options?: RenderOptions,
  ): Promise<string[]> {
    const bundle = typeof image === 'string' ? await this.templateBundle(image) : image;
    return renderTemplates(bundle, rootfs, trigger, instance, options);
  }

  /** Instances whose volume is based on the image in the store's pool (none when it is not unpacked). */
  async users(fingerprint: string): Promise<string[]> {
    const fp = this.checkFp(fingerprint);
    if (!(await this.pool.hasImageVolume(fp))) return [];
    return this.pool.imageVolumeUsers(fp);
  }

  /** Removes the image and its volume in the store's pool; InUseError while instances use it. */
  async delete(fingerprint: string): Promise<void> {
    const fp = this.checkFp(fingerprint);
    await this.record(fp);
    const users = await this.pool.imageVolumeUsers(fp);
    this.bundles.delete(fp);
    if (users.length > 0) throw new InUseError(`image ${fp} is used by instance(s): ${users.join(', ')}`);
    if (await this.pool.hasImageVolume(fp)) await this.pool.deleteImageVolume(fp);
    // the record goes first: a crash half-way leaves unlisted files, never a listed broken image
    await rm(this.recordPath(fp), { force: true });
    await rm(this.file(fp), { force: true });
    await rm(this.file(fp) + '.rootfs', { force: true });
  }

  /** Removes temporary uploads left by a crash (call when the daemon starts). */
  async cleanupLeftovers(): Promise<void> {
    if (!existsSync(this.dir)) return;
    for (const n of await readdir(this.dir)) {
      if (n.startsWith(TMP_PREFIX) || n.endsWith('.json.tmp')) await rm(join(this.dir, n), { force: true });
    }
  }

  // ------------------------------------------------------------------ helpers

  private file(fp: string): string {
    return join(this.dir, fp);
  }

  private recordPath(fp: string): string {
    return join(this.dir, `${fp}.json`);
  }

  private checkFp(fp: string): string {
    if (typeof fp !== 'string' || !FP_RE.test(fp)) throw new InvalidArgumentError(`invalid image fingerprint "${fp}"`);
    return fp;
  }

  private async record(fp: string): Promise<StoredRecord> {
    let text: string;
    try {
      text = await readFile(this.recordPath(fp), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`image ${fp} not found`);
      throw err;
    }
    try {
      return JSON.parse(text) as StoredRecord;
    } catch (err) {
      throw new SystemError('read image record', 'EINVAL', `${fp}.json is corrupt`, { cause: err });
    }
  }
}

function tarSuffix(f: FileFormat): string {
  if (f.kind !== 'tar') return '.squashfs';
  return { none: '.tar', gzip: '.tar.gz', xz: '.tar.xz', zstd: '.tar.zst', bzip2: '.tar.bz2' }[f.compression];
}

/** A squashfs rootfs: the listing must be readable (unsquashfs itself refuses unsafe names). */
async function checkSquashfs(file: string): Promise<void> {
  try {
    await runTool('unsquashfs', ['-n', '-lls', file]);
  } catch (err) {
    if (err instanceof SystemError && err.errno === 'ENOENT') {
      throw new SystemError('unsquashfs', 'ENOENT', 'squashfs images need unsquashfs (Debian package squashfs-tools)', { cause: err });
    }
    throw new InvalidArgumentError('the rootfs is not a readable squashfs image', { cause: err });
  }
}

/** Unlinks every character and block device below `dir` (device-node policy: skipped). */
async function removeDevices(dir: string): Promise<void> {
  await runTool('find', [dir, '-xdev', '(', '-type', 'c', '-o', '-type', 'b', ')', '-delete']);
}
