/**
 * The dir driver on the real filesystem: images unpacked once, instances as overlays of the
 * shared image rootfs, mounted only between mountInstance and unmountInstance. Root only.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlreadyExistsError, InUseError, InvalidArgumentError, NotFoundError } from '@lodge/common';
import { DIR_CAPABILITIES, StorageDriver, StorageDriverRegistry } from '@lodge/storage';

const REPO = join(__dirname, '..', '..', '..', '..', '..');
const BUSYBOX_ROOTFS = join(REPO, '.lodge-test', 'images', 'busybox', 'rootfs');
const FP = 'a'.repeat(64);
const FP2 = 'b'.repeat(64);
const asRoot = process.getuid?.() === 0;
const d = asRoot ? describe : describe.skip;

function hostMounts(needle: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(needle));
}

d('dir storage driver', () => {
  let base: string;
  let pool: StorageDriver;
  let unpacks = 0;
  const unpackBusybox = async (target: string) => {
    unpacks++;
    cpSync(BUSYBOX_ROOTFS, target, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
  };

  beforeAll(() => {
    execFileSync('bash', [join(REPO, 'scripts', 'build-test-image.sh')], { stdio: 'ignore', cwd: REPO });
    base = mkdtempSync(join(tmpdir(), 'lodge-storage-'));
  });

  afterAll(() => {
    // whatever a failed test left mounted goes first, then the files
    for (const line of hostMounts(base).reverse()) {
      const mp = line.split(' ')[4];
      try {
        execFileSync('umount', ['-l', mp]);
      } catch {
        /* already gone */
      }
    }
    rmSync(base, { recursive: true, force: true });
  });

  it('is found in the registry by name, with its capabilities', async () => {
    const reg = StorageDriverRegistry.withBuiltins();
    expect(reg.names()).toContain('dir');
    expect(reg.get('dir').capabilities).toEqual(DIR_CAPABILITIES);
    expect(() => reg.get('nope')).toThrow(/unknown storage driver "nope"/);
    pool = reg.open('dir', join(base, 'pool1'));
    await pool.createPool();
    await expect(pool.createPool()).rejects.toBeInstanceOf(AlreadyExistsError);
    expect(readdirSync(join(base, 'pool1')).sort()).toEqual(['containers', 'images']);
  });

  it('unpacks an image once even for concurrent callers, atomically', async () => {
    const results = await Promise.all([pool.createImageVolume(FP, unpackBusybox), pool.createImageVolume(FP, unpackBusybox)]);
    expect(unpacks).toBe(1);
    expect(results.map((r) => r.created).sort()).toEqual([false, true]);
    expect((await pool.createImageVolume(FP, unpackBusybox)).created).toBe(false);
    expect(unpacks).toBe(1);
    expect(existsSync(join(results[0].rootfs, 'bin', 'busybox'))).toBe(true);

    // a failing unpack leaves nothing, and a later one can succeed
    await expect(
      pool.createImageVolume(FP2, async (t) => {
        writeFileSync(join(t, 'half'), 'x');
        throw new Error('disk on fire');
      }),
    ).rejects.toThrow('disk on fire');
    expect(readdirSync(join(pool.path, 'images'))).toEqual([FP]);
    expect(await pool.hasImageVolume(FP2)).toBe(false);
  });

  it('makes instances as overlays: shared lower, private writes, mounted only while running', async () => {
    const v1 = await pool.createInstanceVolume('c1', FP);
    await pool.createInstanceVolume('c2', FP);
    expect(v1).toMatchObject({ name: 'c1', image: FP, mounted: false });
    await expect(pool.createInstanceVolume('c1', FP)).rejects.toBeInstanceOf(AlreadyExistsError);
    await expect(pool.createInstanceVolume('c3', FP2)).rejects.toBeInstanceOf(NotFoundError);
    await expect(pool.createInstanceVolume('../x', FP)).rejects.toBeInstanceOf(InvalidArgumentError);
    // stopped: nothing mounted on the host
    expect(hostMounts(pool.path)).toEqual([]);
    expect(readdirSync(pool.instanceRootfsPath('c1'))).toEqual([]);

    const r1 = await pool.mountInstance('c1');
    const r2 = await pool.mountInstance('c2');
    expect(await pool.mountInstance('c1')).toBe(r1); // idempotent
    expect(hostMounts(pool.instanceRootfsPath('c1'))).toHaveLength(1);
    expect(hostMounts(pool.instanceRootfsPath('c1'))[0]).toContain(' - overlay ');
    expect(readFileSync(join(r1, 'etc', 'hostname'), 'utf8')).toBe('busybox\n');

    writeFileSync(join(r1, 'etc', 'hostname'), 'c1\n');
    writeFileSync(join(r1, 'root', 'only-in-c1'), 'x'.repeat(1000));
    rmSync(join(r1, 'etc', 'shells'));
    expect(readFileSync(join(r2, 'etc', 'hostname'), 'utf8')).toBe('busybox\n');
    expect(existsSync(join(r2, 'root', 'only-in-c1'))).toBe(false);
    expect(existsSync(join(r2, 'etc', 'shells'))).toBe(true);
    const lower = join(pool.path, 'images', FP, 'rootfs');
    expect(readFileSync(join(lower, 'etc', 'hostname'), 'utf8')).toBe('busybox\n');
    expect(existsSync(join(lower, 'etc', 'shells'))).toBe(true);
    expect(await pool.usage('c1')).toBeGreaterThanOrEqual(1003);
    expect(await pool.usage('c2')).toBe(0);

    // in use: no delete, rename, image delete
    await expect(pool.deleteInstanceVolume('c1')).rejects.toBeInstanceOf(InUseError);
    await expect(pool.renameInstanceVolume('c1', 'c9')).rejects.toBeInstanceOf(InUseError);
    await expect(pool.deleteImageVolume(FP)).rejects.toThrow(/used by instance\(s\): c1, c2/);
    expect(await pool.imageVolumeUsers(FP)).toEqual(['c1', 'c2']);

    await pool.unmountInstance('c1');
    await pool.unmountInstance('c2');
    await pool.unmountInstance('c2'); // idempotent
    expect(hostMounts(pool.path)).toEqual([]);
    expect(readdirSync(pool.instanceRootfsPath('c1'))).toEqual([]);
  });

  it('copies, renames and deletes instance volumes', async () => {
    const copy = await pool.copyInstanceVolume('c1', 'c1copy');
    expect(copy.image).toBe(FP);
    await expect(pool.copyInstanceVolume('c1', 'c2')).rejects.toBeInstanceOf(AlreadyExistsError);
    const rc = await pool.mountInstance('c1copy');
    expect(readFileSync(join(rc, 'etc', 'hostname'), 'utf8')).toBe('c1\n');
    expect(existsSync(join(rc, 'root', 'only-in-c1'))).toBe(true);
    expect(existsSync(join(rc, 'etc', 'shells'))).toBe(false); // the whiteout was copied too
    writeFileSync(join(rc, 'etc', 'hostname'), 'copy\n');
    await pool.unmountInstance('c1copy');
    const r1 = await pool.mountInstance('c1');
    expect(readFileSync(join(r1, 'etc', 'hostname'), 'utf8')).toBe('c1\n');
    await pool.unmountInstance('c1');

    await pool.renameInstanceVolume('c1copy', 'renamed');
    await expect(pool.getInstanceVolume('c1copy')).rejects.toBeInstanceOf(NotFoundError);
    await expect(pool.renameInstanceVolume('renamed', 'c2')).rejects.toBeInstanceOf(AlreadyExistsError);
    const rr = await pool.mountInstance('renamed');
    expect(readFileSync(join(rr, 'etc', 'hostname'), 'utf8')).toBe('copy\n');
    await pool.unmountInstance('renamed');

    for (const n of ['c1', 'c2', 'renamed']) await pool.deleteInstanceVolume(n);
    await expect(pool.deleteInstanceVolume('c1')).rejects.toBeInstanceOf(NotFoundError);
    expect(await pool.instanceVolumes()).toEqual([]);
    expect(readdirSync(join(pool.path, 'containers'))).toEqual([]);
    expect(hostMounts(pool.path)).toEqual([]);
  });

  it('makes empty volumes (source none), bind-mounted while running', async () => {
    const v = await pool.createInstanceVolume('empty1');
    expect(v.image).toBeNull();
    const r = await pool.mountInstance('empty1');
    expect(readdirSync(r)).toEqual([]);
    mkdirSync(join(r, 'etc'));
    writeFileSync(join(r, 'etc', 'x'), 'hello');
    await pool.unmountInstance('empty1');
    expect(hostMounts(pool.path)).toEqual([]);
    expect(await pool.usage('empty1')).toBe(5);
    await pool.deleteInstanceVolume('empty1');
  });

  it('removes what an interrupted create or delete left, and nothing else', async () => {
    await pool.createInstanceVolume('survivor', FP);
    const halfBuilt = join(pool.path, 'containers', '.tmp-crashed-0a1b2c');
    const halfDeleted = join(pool.path, 'containers', '.tmp-delete-gone-3d4e5f');
    const halfUnpacked = join(pool.path, 'images', `${'c'.repeat(64)}.tmp-7a8b9c`);
    for (const d of [halfBuilt, halfDeleted, halfUnpacked]) mkdirSync(join(d, 'rootfs'), { recursive: true });
    expect((await pool.removeLeftovers()).sort()).toEqual([halfBuilt, halfDeleted, halfUnpacked].sort());
    expect(readdirSync(join(pool.path, 'containers'))).toEqual(['survivor']);
    expect(readdirSync(join(pool.path, 'images'))).toEqual([FP]);
    expect(await pool.removeLeftovers()).toEqual([]);
    await pool.deleteInstanceVolume('survivor');
  });

  it('deletes an unused image volume, then the pool; refuses while it holds volumes', async () => {
    await pool.createInstanceVolume('keep', FP);
    await expect(pool.deletePool()).rejects.toBeInstanceOf(InUseError);
    await pool.deleteInstanceVolume('keep');
    await expect(pool.deletePool()).rejects.toBeInstanceOf(InUseError); // the image is still there
    await pool.deleteImageVolume(FP);
    await expect(pool.deleteImageVolume(FP)).rejects.toBeInstanceOf(NotFoundError);
    expect(readdirSync(join(pool.path, 'images'))).toEqual([]);
    await pool.deletePool();
    expect(existsSync(pool.path)).toBe(false);
    expect(lstatSync(base).isDirectory()).toBe(true);
  });
});
