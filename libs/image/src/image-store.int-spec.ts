/**
 * The image store on disk: unified and split imports (fingerprints checked against sha256sum),
 * hostile archives refused with nothing left behind, export, delete, and templates rendered into
 * an instance rootfs (an overlay volume of the dir driver). Root only (owners, mounts).
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack } from 'tar-stream';
import { InUseError, InvalidArgumentError, NotFoundError, AlreadyExistsError } from '@lodge/common';
import { ImageStore } from '@lodge/image';
import { DirStorageDriver } from '@lodge/storage';

const REPO = join(__dirname, '..', '..', '..');
const IMAGES = join(REPO, '.lodge-test', 'images');
const UNIFIED = join(IMAGES, 'busybox.tar.xz');
const asRoot = process.getuid?.() === 0;
const d = asRoot ? describe : describe.skip;
const hasMksquashfs = (() => {
  try {
    execFileSync('mksquashfs', ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const sha256sum = (...files: string[]) =>
  execFileSync('sh', ['-c', 'cat "$@" | sha256sum', 'sh', ...files], { encoding: 'utf8' }).split(' ')[0];

type Entry = { name: string; type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device'; linkname?: string; body?: string; devmajor?: number; devminor?: number };

/** Builds a tarball with tar-stream. */
async function makeTar(path: string, entries: Entry[]): Promise<string> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => chunks.push(c as Buffer));
  const ended = new Promise<void>((res) => p.on('end', () => res()));
  for (const e of entries) {
    const header = { name: e.name, type: e.type ?? 'file', linkname: e.linkname, mode: e.type === 'directory' ? 0o755 : 0o644, uid: 0, gid: 0, devmajor: e.devmajor, devminor: e.devminor };
    const done = (res: () => void, rej: (err: Error) => void) => (err?: Error | null) => (err ? rej(err) : res());
    await new Promise<void>((res, rej) => p.entry(header, e.body ?? '', done(res, rej)));
  }
  p.finalize();
  await ended;
  writeFileSync(path, Buffer.concat(chunks));
  return path;
}

const META = 'architecture: x86_64\ncreation_date: 1700000000\nproperties:\n  os: test\n';

d('image store', () => {
  let base: string;
  let pool: DirStorageDriver;
  let store: ImageStore;
  const storeDir = () => join(base, 'images');
  const leftovers = () => ({
    store: existsSync(storeDir()) ? readdirSync(storeDir()) : [],
    pool: readdirSync(join(pool.path, 'images')),
  });

  beforeAll(async () => {
    execFileSync('bash', [join(REPO, 'scripts', 'build-test-image.sh')], { stdio: 'ignore', cwd: REPO });
    base = mkdtempSync(join(tmpdir(), 'lodge-images-'));
    pool = new DirStorageDriver(join(base, 'pool'));
    await pool.createPool();
    store = new ImageStore(storeDir(), pool);
  });

  afterAll(() => {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(base)).reverse()) {
      try {
        execFileSync('umount', ['-l', line.split(' ')[4]]);
      } catch {
        /* gone */
      }
    }
    rmSync(base, { recursive: true, force: true });
  });

  let bbFp: string;

  it('imports the busybox unified tarball (fingerprint = sha256sum of the file), unpacked once into the pool', async () => {
    const info = await store.importUnified(createReadStream(UNIFIED), { filename: 'busybox.tar.xz' });
    bbFp = sha256sum(UNIFIED);
    expect(info).toMatchObject({ fingerprint: bbFp, size: statSync(UNIFIED).size, architecture: process.arch === 'x64' ? 'x86_64' : expect.any(String), type: 'container', format: 'unified', filename: 'busybox.tar.xz' });
    expect(info.properties.os).toBe('busybox');
    expect(info.created_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(await store.get(bbFp)).toEqual(info);
    expect(await store.list()).toEqual([bbFp]);
    const rootfs = join(pool.path, 'images', bbFp, 'rootfs');
    expect(statSync(join(rootfs, 'bin', 'busybox')).uid).toBe(0);
    expect(statSync(join(rootfs, 'bin', 'busybox')).mode & 0o777).toBe(0o755);
    expect(statSync(join(rootfs, 'tmp')).mode & 0o7777).toBe(0o1777);
    expect(readFileSync(join(rootfs, 'etc', 'hostname'), 'utf8')).toBe('busybox\n');
    expect(existsSync(join(rootfs, 'metadata.yaml'))).toBe(false);
    // a second import of the same file is refused; unpackInto is idempotent
    await expect(store.importUnified(UNIFIED)).rejects.toBeInstanceOf(AlreadyExistsError);
    expect(await store.unpackInto(bbFp)).toBe(rootfs);
    expect(await store.exportPaths(bbFp)).toEqual({ format: 'unified', metadata: { path: join(storeDir(), bbFp), filename: 'busybox.tar.xz' } });
    expect(readFileSync(join(storeDir(), bbFp)).equals(readFileSync(UNIFIED))).toBe(true);
    expect(leftovers().store.sort()).toEqual([bbFp, `${bbFp}.json`].sort());
  });

  it('refuses a wrong expected fingerprint and leaves nothing', async () => {
    const before = leftovers();
    await expect(store.importUnified(UNIFIED, { expectedFingerprint: 'f'.repeat(64) })).rejects.toThrow(/fingerprint mismatch/);
    expect(leftovers()).toEqual(before);
  });

  const splitCases: Array<[string, boolean, (dir: string) => string]> = [
    ['tar.xz rootfs', true, (dir) => {
      const out = join(dir, 'rootfs.tar.xz');
      execFileSync('tar', ['--numeric-owner', '-C', join(IMAGES, 'busybox', 'rootfs'), '-cJf', out, '.']);
      return out;
    }],
    ['squashfs rootfs', hasMksquashfs, (dir) => {
      const out = join(dir, 'rootfs.squashfs');
      execFileSync('mksquashfs', [join(IMAGES, 'busybox', 'rootfs'), out, '-noappend', '-quiet', '-comp', 'gzip']);
      return out;
    }],
  ];
  // mksquashfs comes from Debian's squashfs-tools; without it only the squashfs case is skipped
  it.each(splitCases)('imports a split image with a %s (fingerprint = sha256(meta ++ rootfs))', async (_label, available, make) => {
    if (!available) {
      console.warn('skipped: mksquashfs missing (apt-get install squashfs-tools)');
      return;
    }
    const dir = mkdtempSync(join(base, 'split-'));
    writeFileSync(join(dir, 'metadata.yaml'), META);
    mkdirSync(join(dir, 'templates'));
    writeFileSync(join(dir, 'templates', 'x.tpl'), '{{ container.name }}');
    const meta = join(dir, 'meta.tar.gz');
    execFileSync('tar', ['-C', dir, '-czf', meta, 'metadata.yaml', 'templates']);
    const rootfsFile = make(dir);
    const info = await store.importSplit(meta, createReadStream(rootfsFile));
    expect(info.fingerprint).toBe(sha256sum(meta, rootfsFile));
    expect(info).toMatchObject({ format: 'split', architecture: 'x86_64', properties: { os: 'test' }, size: statSync(meta).size + statSync(rootfsFile).size });
    const rootfs = join(pool.path, 'images', info.fingerprint, 'rootfs');
    expect(statSync(join(rootfs, 'bin', 'busybox')).uid).toBe(0);
    expect(readFileSync(join(rootfs, 'etc', 'hostname'), 'utf8')).toBe('busybox\n');
    const exp = await store.exportPaths(info.fingerprint);
    expect(readFileSync(exp.metadata.path).equals(readFileSync(meta))).toBe(true);
    expect(readFileSync(exp.rootfs!.path).equals(readFileSync(rootfsFile))).toBe(true);
    expect((await store.templateBundle(info.fingerprint)).templates).toEqual({ 'x.tpl': '{{ container.name }}' });
    await store.delete(info.fingerprint);
    expect(await store.list()).toEqual([bbFp]);
    expect(existsSync(join(pool.path, 'images', info.fingerprint))).toBe(false);
  });

  const rootfsDir: Entry[] = [{ name: 'metadata.yaml', body: META }, { name: 'rootfs/', type: 'directory' }, { name: 'rootfs/etc/', type: 'directory' }];
  const hostile: Array<[string, Entry[], RegExp]> = [
    ['a ../ entry', [...rootfsDir, { name: 'rootfs/../../escape', body: 'x' }], /contains "\.\."/],
    ['an absolute path', [...rootfsDir, { name: '/etc/evil', body: 'x' }], /absolute path/],
    ['a relative symlink out of the rootfs', [...rootfsDir, { name: 'rootfs/etc/up', type: 'symlink', linkname: '../../../etc' }], /symlink "rootfs\/etc\/up" -> "..\/..\/..\/etc" points out of the rootfs/],
    ['a file written through a symlink', [...rootfsDir, { name: 'rootfs/host', type: 'symlink', linkname: '/etc' }, { name: 'rootfs/host/passwd', body: 'x' }], /would be written through the symlink "host"/],
    ['a hardlink out of the rootfs', [...rootfsDir, { name: 'rootfs/pw', type: 'link', linkname: '/etc/passwd' }], /hardlink "rootfs\/pw" -> "\/etc\/passwd" points out of the rootfs/],
    ['a hardlink to a non-rootfs member', [...rootfsDir, { name: 'rootfs/md', type: 'link', linkname: 'metadata.yaml' }], /points out of the rootfs/],
    ['a device node outside the rootfs', [...rootfsDir, { name: 'templates/null', type: 'character-device', devmajor: 1, devminor: 3 }], /device node "templates\/null" outside the rootfs/],
    ['no metadata.yaml', [{ name: 'rootfs/', type: 'directory' }], /no metadata.yaml/],
    ['an invalid metadata.yaml', [{ name: 'metadata.yaml', body: 'architecture: x86_64\n' }, { name: 'rootfs/', type: 'directory' }], /needs a "creation_date"/],
  ];
  it.each(hostile)('refuses %s and leaves nothing in the store or the pool', async (_label, entries, message) => {
    const before = leftovers();
    const file = await makeTar(join(base, 'hostile.tar'), entries);
    const err = await store.importUnified(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as Error).message).toMatch(message);
    expect(leftovers()).toEqual(before);
    expect(existsSync('/escape')).toBe(false);
  });

  it('skips device nodes inside the rootfs (and lists them)', async () => {
    const file = await makeTar(join(base, 'dev.tar'), [...rootfsDir, { name: 'rootfs/dev/', type: 'directory' }, { name: 'rootfs/dev/null', type: 'character-device', devmajor: 1, devminor: 3 }, { name: 'rootfs/etc/ok', body: 'ok' }]);
    const info = await store.importUnified(file);
    expect(info.skipped_devices).toEqual(['dev/null']);
    const rootfs = join(pool.path, 'images', info.fingerprint, 'rootfs');
    expect(readdirSync(join(rootfs, 'dev'))).toEqual([]);
    expect(readFileSync(join(rootfs, 'etc', 'ok'), 'utf8')).toBe('ok');
    await store.delete(info.fingerprint);
  });

  it('renders templates into an instance rootfs: /etc/hostname from a template, confined to the rootfs', async () => {
    const meta = `${META}templates:\n  /etc/hostname:\n    when: [create, copy, rename]\n    template: hostname.tpl\n  /etc/motd:\n    when: [start]\n    template: motd.tpl\n    create_only: true\n    properties: {greeting: hello}\n  /etc/escape/out:\n    when: [start]\n    template: motd.tpl\n`;
    const file = await makeTar(join(base, 'tpl.tar'), [
      { name: 'metadata.yaml', body: meta },
      { name: 'templates/hostname.tpl', body: '{{ container.name }}\n' },
      { name: 'templates/motd.tpl', body: '{{ properties.greeting }} {{ config_get("user.who", "world") }} ({{ trigger }})\n' },
      { name: 'rootfs/', type: 'directory' },
      { name: 'rootfs/etc/', type: 'directory' },
      { name: 'rootfs/etc/hostname', body: 'image\n' },
      // absolute symlink: resolved inside the rootfs, never on the host
      { name: 'rootfs/etc/escape', type: 'symlink', linkname: '/srv/inside' },
    ]);
    const info = await store.importUnified(file);
    await pool.createInstanceVolume('tpl1', info.fingerprint);
    const rootfs = await pool.mountInstance('tpl1');
    expect(await store.renderTemplates(info.fingerprint, rootfs, 'create', { name: 'tpl1' })).toEqual(['/etc/hostname']);
    expect(readFileSync(join(rootfs, 'etc', 'hostname'), 'utf8')).toBe('tpl1\n');
    const written = await store.renderTemplates(info.fingerprint, rootfs, 'start', { name: 'tpl1', config: { 'user.who': 'lodge' } });
    expect(written.sort()).toEqual(['/etc/escape/out', '/etc/motd']);
    expect(readFileSync(join(rootfs, 'etc', 'motd'), 'utf8')).toBe('hello lodge (start)\n');
    const motd = statSync(join(rootfs, 'etc', 'motd'));
    expect([motd.uid, motd.gid, motd.mode & 0o777]).toEqual([0, 0, 0o644]);
    expect(readFileSync(join(rootfs, 'srv', 'inside', 'out'), 'utf8')).toBe(' lodge (start)\n'); // no properties in that rule
    expect(existsSync('/srv/inside')).toBe(false);
    // create_only: an existing file is left alone
    writeFileSync(join(rootfs, 'etc', 'motd'), 'mine\n');
    await store.renderTemplates(info.fingerprint, rootfs, 'start', { name: 'tpl1' });
    expect(readFileSync(join(rootfs, 'etc', 'motd'), 'utf8')).toBe('mine\n');
    await pool.unmountInstance('tpl1');
    // the image itself is untouched
    expect(readFileSync(join(pool.path, 'images', info.fingerprint, 'rootfs', 'etc', 'hostname'), 'utf8')).toBe('image\n');

    await expect(store.delete(info.fingerprint)).rejects.toBeInstanceOf(InUseError);
    await pool.deleteInstanceVolume('tpl1');
    await store.delete(info.fingerprint);
    await expect(store.get(info.fingerprint)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('deletes the busybox image: store and pool are empty again', async () => {
    await store.delete(bbFp);
    expect(leftovers()).toEqual({ store: [], pool: [] });
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(base);
  });
});
