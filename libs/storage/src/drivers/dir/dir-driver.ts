/**
 * The `dir` driver: a pool is a plain directory on the host filesystem.
 *
 *   <pool>/images/<fp>/rootfs          an image, unpacked once (unshifted owners, as in the image)
 *   <pool>/containers/<name>/volume.json  { image: <fp> | null }: the lower it uses
 *   <pool>/containers/<name>/upper     the instance's own changes
 *   <pool>/containers/<name>/work      overlayfs work directory
 *   <pool>/containers/<name>/rootfs    mount point: overlay(lower=image rootfs, upper) while
 *                                      the instance runs, empty otherwise
 *
 * An empty volume (source type none) has no lower: its upper is bind-mounted at rootfs.
 * Creating an instance never copies the image. The overlay mount itself cannot be idmapped
 * (see capabilities); an idmapped view of the image as the overlay's lower layer can.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AlreadyExistsError, InUseError, InvalidArgumentError, KeyedLock, NotFoundError, Reverter, SystemError } from '@lodge/common';
import { hostMounts, isMountPoint, mountsUnder, runTool, treeBytes } from '../../host';
import {
  ImageUnpacker,
  ImageVolume,
  InstanceVolume,
  RootfsSource,
  StorageCapabilities,
  StorageDriver,
} from '../../storage-driver';

export const DIR_CAPABILITIES: StorageCapabilities = Object.freeze({
  optimizedImages: true,
  cowClone: true,
  quotas: false,
  // overlayfs cannot be idmapped itself (mount_setattr EINVAL, checked on 6.18); the empty
  // (bind-mounted) volumes could, but the record is per driver
  idmappedMounts: false,
});

const FINGERPRINT_RE = /^[a-f0-9]{64}$/;
/** LXD instance names: letters, digits and dashes, not starting with a digit or dash. */
const INSTANCE_RE = /^[A-Za-z][A-Za-z0-9-]{0,62}$/;
const TMP_MARK = '.tmp-';

interface VolumeRecord {
  image: string | null;
}

export class DirStorageDriver implements StorageDriver {
  readonly driverName = 'dir';
  readonly capabilities = DIR_CAPABILITIES;
  private readonly lock = new KeyedLock();
  private readonly unpacking = new Map<string, Promise<ImageVolume>>();

  constructor(readonly path: string) {
    if (typeof path !== 'string' || !path.startsWith('/')) throw new InvalidArgumentError('a pool path must be absolute');
  }

  private get imagesDir(): string {
    return join(this.path, 'images');
  }

  private get containersDir(): string {
    return join(this.path, 'containers');
  }

  private imageDir(fp: string): string {
    return join(this.imagesDir, fp);
  }

  private volumeDir(name: string): string {
    return join(this.containersDir, name);
  }

  // ------------------------------------------------------------------ pool

  async createPool(): Promise<void> {
    if (existsSync(join(this.path, 'images')) || existsSync(join(this.path, 'containers'))) {
      throw new AlreadyExistsError(`storage pool at "${this.path}" already exists`);
    }
    const r = new Reverter();
    try {
      const made = !existsSync(this.path);
      await mkdir(this.path, { recursive: true, mode: 0o711 });
      if (made) r.push('pool dir', () => rm(this.path, { recursive: true, force: true }));
      await mkdir(this.imagesDir, { mode: 0o700 });
      r.push('images dir', () => rm(this.imagesDir, { recursive: true, force: true }));
      // containers/ must be traversable by the containers' mapped ids (rootfs lives below it)
      await mkdir(this.containersDir, { mode: 0o711 });
      r.commit();
    } finally {
      await r.revert();
    }
  }

  async deletePool(): Promise<void> {
    this.assertPool();
    const instances = await this.instanceVolumes();
    const images = await this.imageVolumes();
    if (instances.length > 0 || images.length > 0) {
      throw new InUseError(`storage pool at "${this.path}" still holds ${instances.length} instance and ${images.length} image volume(s)`);
    }
    const mounts = await mountsUnder(this.path);
    if (mounts.length > 0) throw new InUseError(`storage pool at "${this.path}" has mounts: ${mounts.join(', ')}`);
    await rm(this.path, { recursive: true, force: true });
  }

  async removeLeftovers(): Promise<string[]> {
    this.assertPool();
    const removed: string[] = [];
    for (const dir of [this.imagesDir, this.containersDir]) {
      for (const entry of await readdir(dir)) {
        if (!entry.includes(TMP_MARK)) continue;
        const path = join(dir, entry);
        // a half-built volume was never mounted; a half-deleted one was unmounted before its rename
        if ((await mountsUnder(path)).length > 0) continue;
        await rm(path, { recursive: true, force: true });
        removed.push(path);
      }
    }
    return removed;
  }

  // ------------------------------------------------------------------ images

  async hasImageVolume(fingerprint: string): Promise<boolean> {
    checkFingerprint(fingerprint);
    return existsSync(join(this.imageDir(fingerprint), 'rootfs'));
  }

  async imageVolumes(): Promise<string[]> {
    this.assertPool();
    return (await readdir(this.imagesDir)).filter((n) => FINGERPRINT_RE.test(n)).sort();
  }

  async createImageVolume(fingerprint: string, unpack: ImageUnpacker): Promise<ImageVolume> {
    checkFingerprint(fingerprint);
    this.assertPool();
    // Concurrent callers for one fingerprint share the unpack in flight.
    const inFlight = this.unpacking.get(fingerprint);
    if (inFlight) return inFlight.then((v) => ({ ...v, created: false }));
    const p = this.lock.run(`image:${fingerprint}`, () => this.unpackImage(fingerprint, unpack));
    this.unpacking.set(fingerprint, p);
    const forget = () => {
      if (this.unpacking.get(fingerprint) === p) this.unpacking.delete(fingerprint);
    };
    p.then(forget, forget);
    return p;
  }

  private async unpackImage(fp: string, unpack: ImageUnpacker): Promise<ImageVolume> {
    const final = this.imageDir(fp);
    const rootfs = join(final, 'rootfs');
    if (existsSync(rootfs)) return { fingerprint: fp, rootfs, created: false };
    // leftovers of an unpack that crashed half-way
    for (const n of await readdir(this.imagesDir)) {
      if (n.startsWith(fp + TMP_MARK)) await rm(join(this.imagesDir, n), { recursive: true, force: true });
    }
    const tmp = join(this.imagesDir, `${fp}${TMP_MARK}${randomBytes(6).toString('hex')}`);
    const r = new Reverter();
    try {
      await mkdir(tmp, { mode: 0o700 });
      r.push('temporary image dir', () => rm(tmp, { recursive: true, force: true }));
      await mkdir(join(tmp, 'rootfs'), { mode: 0o755 });
      await unpack(join(tmp, 'rootfs'));
      // the image dir stays 0700 for the host; containers see the rootfs only through mounts
      await rename(tmp, final);
      r.commit();
      return { fingerprint: fp, rootfs, created: true };
    } finally {
      await r.revert();
    }
  }

  async imageVolumeUsers(fingerprint: string): Promise<string[]> {
    checkFingerprint(fingerprint);
    const users: string[] = [];
    for (const name of await this.instanceVolumes()) {
      const rec = await this.readRecord(name).catch(() => undefined);
      if (rec?.image === fingerprint) users.push(name);
    }
    return users;
  }

  async deleteImageVolume(fingerprint: string): Promise<void> {
    checkFingerprint(fingerprint);
    this.assertPool();
    return this.lock.run(`image:${fingerprint}`, async () => {
      if (!existsSync(this.imageDir(fingerprint))) throw new NotFoundError(`image volume ${fingerprint} not found`);
      const users = await this.imageVolumeUsers(fingerprint);
      if (users.length > 0) throw new InUseError(`image ${fingerprint} is used by instance(s): ${users.join(', ')}`);
      // out of sight first, then removed: never a half-deleted image under its real name
      const doomed = join(this.imagesDir, `${fingerprint}${TMP_MARK}delete-${randomBytes(6).toString('hex')}`);
      await rename(this.imageDir(fingerprint), doomed);
      await rm(doomed, { recursive: true, force: true });
    });
  }

  // ------------------------------------------------------------------ instances

  async instanceVolumes(): Promise<string[]> {
    this.assertPool();
    return (await readdir(this.containersDir)).filter((n) => INSTANCE_RE.test(n)).sort();
  }

  async createInstanceVolume(name: string, fromImage?: string): Promise<InstanceVolume> {
    checkInstanceName(name);
    if (fromImage !== undefined) checkFingerprint(fromImage);
    this.assertPool();
    const create = async (): Promise<InstanceVolume> => {
      if (existsSync(this.volumeDir(name))) throw new AlreadyExistsError(`instance volume "${name}" already exists`);
      if (fromImage !== undefined && !(await this.hasImageVolume(fromImage))) {
        throw new NotFoundError(`image volume ${fromImage} not found in the pool (unpack it first)`);
      }
      await this.makeVolume(name, { image: fromImage ?? null });
      return this.getInstanceVolume(name);
    };
    // holding the image's lock: the image cannot be deleted between the check and the record
    return this.lock.run(`instance:${name}`, () => (fromImage ? this.lock.run(`image:${fromImage}`, create) : create()));
  }

  /** Builds containers/<name> under a temporary name and renames it into place. */
  private async makeVolume(name: string, rec: VolumeRecord, fillUpper?: (upper: string) => Promise<void>): Promise<void> {
    const tmp = join(this.containersDir, `${TMP_MARK}${name}-${randomBytes(6).toString('hex')}`);
    const r = new Reverter();
    try {
      await mkdir(tmp, { mode: 0o711 });
      r.push('temporary volume dir', () => rm(tmp, { recursive: true, force: true }));
      if (fillUpper) {
        await fillUpper(join(tmp, 'upper'));
      } else {
        await mkdir(join(tmp, 'upper'), { mode: 0o755 });
      }
      await mkdir(join(tmp, 'work'), { mode: 0o700 });
      await mkdir(join(tmp, 'rootfs'), { mode: 0o755 });
      await writeFile(join(tmp, 'volume.json'), JSON.stringify(rec) + '\n', { mode: 0o600 });
      await rename(tmp, this.volumeDir(name));
      r.commit();
    } finally {
      await r.revert();
    }
  }

  async getInstanceVolume(name: string): Promise<InstanceVolume> {
    checkInstanceName(name);
    const rec = await this.readRecord(name);
    const rootfs = this.instanceRootfsPath(name);
    return { name, image: rec.image, rootfs, mounted: await isMountPoint(rootfs) };
  }

  async deleteInstanceVolume(name: string): Promise<void> {
    checkInstanceName(name);
    return this.lock.run(`instance:${name}`, async () => {
      await this.readRecord(name);
      await this.assertUnmounted(name, 'delete');
      const doomed = join(this.containersDir, `${TMP_MARK}delete-${name}-${randomBytes(6).toString('hex')}`);
      await rename(this.volumeDir(name), doomed);
      await rm(doomed, { recursive: true, force: true });
    });
  }

  async renameInstanceVolume(name: string, newName: string): Promise<void> {
    checkInstanceName(name);
    checkInstanceName(newName);
    return this.lock.runAll([`instance:${name}`, `instance:${newName}`], async () => {
      await this.readRecord(name);
      if (existsSync(this.volumeDir(newName))) throw new AlreadyExistsError(`instance volume "${newName}" already exists`);
      await this.assertUnmounted(name, 'rename');
      await rename(this.volumeDir(name), this.volumeDir(newName));
    });
  }

  async copyInstanceVolume(source: string, target: string): Promise<InstanceVolume> {
    checkInstanceName(source);
    checkInstanceName(target);
    return this.lock.runAll([`instance:${source}`, `instance:${target}`], async () => {
      const rec = await this.readRecord(source);
      if (existsSync(this.volumeDir(target))) throw new AlreadyExistsError(`instance volume "${target}" already exists`);
      // cp -a keeps owners, modes, xattrs and overlayfs whiteouts (0:0 character devices);
      // the source's image holds a user already, so it cannot go away meanwhile
      await this.makeVolume(target, { image: rec.image }, (upper) =>
        runTool('cp', ['-a', '--reflink=auto', '--', join(this.volumeDir(source), 'upper'), upper]).then(() => undefined),
      );
      return this.getInstanceVolume(target);
    });
  }

  instanceRootfsPath(name: string): string {
    checkInstanceName(name);
    return join(this.volumeDir(name), 'rootfs');
  }

  async rootfsSource(name: string): Promise<RootfsSource> {
    checkInstanceName(name);
    const rec = await this.readRecord(name);
    const dir = this.volumeDir(name);
    if (!rec.image) return { kind: 'directory', path: join(dir, 'upper') };
    const lower = join(this.imageDir(rec.image), 'rootfs');
    if (!existsSync(lower)) throw new NotFoundError(`image volume ${rec.image} of instance "${name}" is missing`);
    const lowerMount = join(dir, 'lower');
    await mkdir(lowerMount, { recursive: true, mode: 0o700 });
    await mkdir(join(dir, 'rootfs'), { recursive: true, mode: 0o755 });
    return { kind: 'overlay', lower, upper: join(dir, 'upper'), work: join(dir, 'work'), lowerMount, mountpoint: join(dir, 'rootfs') };
  }

  async mountInstance(name: string): Promise<string> {
    checkInstanceName(name);
    return this.lock.run(`instance:${name}`, async () => {
      const rec = await this.readRecord(name);
      const dir = this.volumeDir(name);
      const target = join(dir, 'rootfs');
      if (await isMountPoint(target)) return target;
      await mkdir(target, { recursive: true, mode: 0o755 });
      if (rec.image) {
        const lower = join(this.imageDir(rec.image), 'rootfs');
        if (!existsSync(lower)) throw new NotFoundError(`image volume ${rec.image} of instance "${name}" is missing`);
        // paths are built from checked names only: no commas, colons or spaces to escape
        const opts = `lowerdir=${lower},upperdir=${join(dir, 'upper')},workdir=${join(dir, 'work')}`;
        await hostMounts.overlay(target, opts);
      } else {
        await hostMounts.bind(join(dir, 'upper'), target);
      }
      return target;
    });
  }

  async unmountInstance(name: string): Promise<void> {
    checkInstanceName(name);
    return this.lock.run(`instance:${name}`, async () => {
      const target = this.instanceRootfsPath(name);
      // stacked mounts (a second mount over the first) are all removed
      while (await isMountPoint(target)) await unmountWithRetry(target);
    });
  }

  async usage(name: string): Promise<number> {
    await this.readRecord(name);
    return treeBytes(join(this.volumeDir(name), 'upper'));
  }

  // ------------------------------------------------------------------ helpers

  private assertPool(): void {
    if (!existsSync(this.imagesDir) || !existsSync(this.containersDir)) {
      throw new NotFoundError(`no storage pool at "${this.path}"`);
    }
  }

  private async readRecord(name: string): Promise<VolumeRecord> {
    checkInstanceName(name);
    let text: string;
    try {
      text = await readFile(join(this.volumeDir(name), 'volume.json'), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`instance volume "${name}" not found`);
      throw err;
    }
    try {
      const rec = JSON.parse(text) as VolumeRecord;
      if (rec.image !== null && !FINGERPRINT_RE.test(String(rec.image))) throw new Error('bad image');
      return rec;
    } catch (err) {
      throw new SystemError('read volume record', 'EINVAL', `containers/${name}/volume.json is corrupt`, { cause: err });
    }
  }

  private async assertUnmounted(name: string, what: string): Promise<void> {
    const mounts = await mountsUnder(this.volumeDir(name));
    if (mounts.length > 0) throw new InUseError(`cannot ${what} instance volume "${name}" while it is mounted (stop the instance first)`);
  }

  /** Removes temporary leftovers of interrupted operations (call when the daemon starts). */
  async cleanupLeftovers(): Promise<void> {
    this.assertPool();
    for (const [dir, names] of [
      [this.imagesDir, await readdir(this.imagesDir)],
      [this.containersDir, await readdir(this.containersDir)],
    ] as const) {
      for (const n of names) {
        if (!n.includes(TMP_MARK)) continue;
        const p = join(dir, n);
        if ((await mountsUnder(p)).length > 0) continue;
        await rm(p, { recursive: true, force: true });
      }
    }
  }
}

function checkFingerprint(fp: string): void {
  if (typeof fp !== 'string' || !FINGERPRINT_RE.test(fp)) throw new InvalidArgumentError(`invalid image fingerprint "${fp}"`);
}

function checkInstanceName(name: string): void {
  if (typeof name !== 'string' || !INSTANCE_RE.test(name)) throw new InvalidArgumentError(`invalid instance name "${name}"`);
}

/**
 * umount, retried while the kernel answers "target is busy", then detached lazily. Seen under
 * many concurrent launches: an instance's short host mount (templates) reported busy for a moment
 * after its last file was closed. A lazy detach removes it from the tree at once; the overlay
 * then ends with its last user, and overlayfs (index off) lets the container mount the same
 * layers meanwhile.
 */
async function unmountWithRetry(target: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await hostMounts.unmount(target);
      return;
    } catch (err) {
      if (!(err instanceof SystemError) || err.errno !== 'EBUSY') throw err;
      if (attempt === 5) break;
      await new Promise((r) => setTimeout(r, 10 << attempt));
    }
  }
  await hostMounts.unmount(target, { lazy: true });
}
