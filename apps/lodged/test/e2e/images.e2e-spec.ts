/**
 * The images API end to end: Debian's real `lxc` client (lxd-client 5.0) against a real lodged
 * with its own database, state dir and storage pool. Imports unified and split images (xz tarball
 * and squashfs rootfs), lists, shows, edits, aliases, exports and deletes them, and checks that
 * every fingerprint the server reports is the sha256 a user computes over the file(s) and that
 * refused uploads leave nothing behind (no row, no file, no volume).
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Header, pack } from 'tar-stream';
import { BUSYBOX_UNIFIED, EngineDaemon, IMAGES, startEngineDaemon } from '../engine-daemon';
import { ImageStore } from '@lodge/image';
import { LxcResult, runLxc } from '../support';

jest.setTimeout(120_000);

const LXC = '/usr/bin/lxc';
const BUSYBOX_DIR = join(IMAGES, 'busybox');

const sha256 = (...files: string[]) => {
  const h = createHash('sha256');
  for (const f of files) h.update(readFileSync(f));
  return h.digest('hex');
};

/** A tarball built entry by entry, so a test can write what GNU tar would refuse to. */
async function tarball(entries: Array<{ name: string; type?: string; linkname?: string; body?: string; devmajor?: number }>): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    p.on('end', resolve);
    p.on('error', reject);
  });
  for (const e of entries) {
    const type = (e.type ?? (e.body !== undefined ? 'file' : 'directory')) as NonNullable<Header['type']>;
    await new Promise<void>((resolve, reject) =>
      p.entry({ name: e.name, type, linkname: e.linkname, mode: type === 'directory' ? 0o755 : 0o644, devmajor: e.devmajor, devminor: 0 }, e.body ?? '', (err) => (err ? reject(err) : resolve())),
    );
  }
  p.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}

const METADATA = readFileSync(join(BUSYBOX_DIR, 'metadata.yaml'), 'utf8');

/** A small valid unified image plus the unsafe entry under test. */
const unsafe = (bad: Array<{ name: string; type?: string; linkname?: string; body?: string; devmajor?: number }>) =>
  tarball([{ name: 'metadata.yaml', body: METADATA }, { name: 'rootfs/' }, { name: 'rootfs/etc/' }, { name: 'rootfs/etc/hostname', body: 'x\n' }, ...bad]);

/** A multipart/form-data body as Go's multipart.Writer frames it. */
function multipart(boundary: string, parts: Array<{ name: string; filename: string; data: Buffer }>): Buffer {
  const out: Buffer[] = [];
  for (const p of parts) {
    out.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"; filename="${p.filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`));
    out.push(p.data, Buffer.from('\r\n'));
  }
  out.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(out);
}

describe('images API with the real lxc client', () => {
  let d: EngineDaemon;
  let home: string;
  let work: string;
  const files = { meta: '', rootfsXz: '', rootfsSquash: '' };

  const lxcEnv = () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', LXD_DIR: d.dir, HOME: home, LXD_CONF: join(home, 'lxc-conf') });
  const lxc = (...args: string[]): Promise<LxcResult> => runLxc(LXC, lxcEnv(), args);
  /** lxc with `input` on stdin (never execFileSync: the daemon runs in this very process) */
  const lxcWithInput = (input: string, ...args: string[]): Promise<LxcResult> =>
    new Promise((resolve) => {
      const child = execFile(LXC, args, { env: lxcEnv(), timeout: 30_000 }, (err, stdout, stderr) => {
        const code: unknown = err ? (err as { code?: unknown }).code : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      });
      child.stdin!.end(input);
    });
  const imageRows = async () => (await d.dataSource.query('SELECT fingerprint FROM images ORDER BY fingerprint')).map((r: { fingerprint: string }) => r.fingerprint);
  const aliasRows = async () => (await d.dataSource.query('SELECT name, fingerprint FROM image_aliases ORDER BY name')) as Array<{ name: string; fingerprint: string }>;
  const storeFiles = () => (existsSync(join(d.dir, 'images')) ? readdirSync(join(d.dir, 'images')).sort() : []);
  const poolImages = () => {
    const dir = join(d.dir, 'storage-pools', 'default', 'images');
    return existsSync(dir) ? readdirSync(dir).sort() : [];
  };

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'lodge-images-home-'));
    work = mkdtempSync(join(tmpdir(), 'lodge-images-work-'));
    d = await startEngineDaemon('images');
    // the split pair from the busybox test image: metadata.yaml tarred, rootfs as tar.xz and as squashfs
    files.meta = join(work, 'meta.tar.xz');
    files.rootfsXz = join(work, 'rootfs.tar.xz');
    files.rootfsSquash = join(work, 'rootfs.squashfs');
    execFileSync('tar', ['-C', BUSYBOX_DIR, '--numeric-owner', '-cJf', files.meta, 'metadata.yaml']);
    execFileSync('tar', ['-C', join(BUSYBOX_DIR, 'rootfs'), '--numeric-owner', '-cJf', files.rootfsXz, '.']);
    execFileSync('mksquashfs', [join(BUSYBOX_DIR, 'rootfs'), files.rootfsSquash, '-noappend', '-quiet', '-no-progress']);
    await lxc('remote', 'list'); // first run: the client writes its config
  });

  afterAll(async () => {
    try {
      await d?.cleanup();
    } finally {
      rmSync(home, { recursive: true, force: true });
      rmSync(work, { recursive: true, force: true });
    }
  });

  const unifiedFp = () => sha256(BUSYBOX_UNIFIED);

  it('lxc image import (unified): the fingerprint is the sha256 of the file', async () => {
    const r = await lxc('image', 'import', BUSYBOX_UNIFIED, '--alias', 'bb');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Image imported with fingerprint: ${unifiedFp()}`);
    expect(await imageRows()).toEqual([unifiedFp()]);
    expect(await aliasRows()).toEqual([{ name: 'bb', fingerprint: unifiedFp() }]);
    // unpacked once into the pool at import
    expect(poolImages()).toEqual([unifiedFp()]);
  });

  it('GET /1.0/images/{fp} answers LXD\'s fields (prefix lookup, ETag)', async () => {
    const fp = unifiedFp();
    const res = await d.api('GET', `/1.0/images/${fp.slice(0, 10)}`);
    expect(res.status).toBe(200);
    expect(res.headers.etag).toMatch(/^"[0-9a-f]{64}"$/);
    const img = res.json.metadata;
    expect(Object.keys(img)).toEqual([
      'auto_update', 'properties', 'public', 'expires_at', 'profiles', 'aliases', 'architecture', 'cached',
      'filename', 'fingerprint', 'size', 'type', 'created_at', 'last_used_at', 'uploaded_at',
    ]);
    expect(img).toMatchObject({
      fingerprint: fp,
      size: readFileSync(BUSYBOX_UNIFIED).length,
      architecture: 'x86_64',
      type: 'container',
      public: false,
      auto_update: false,
      cached: false,
      aliases: [{ name: 'bb', description: '' }],
      profiles: ['default'],
      filename: 'busybox.tar.xz',
      expires_at: '0001-01-01T00:00:00Z',
      created_at: new Date(Number(/creation_date: (\d+)/.exec(METADATA)![1]) * 1000).toISOString().replace('.000Z', 'Z'),
    });
    expect(img.properties).toEqual({ architecture: 'x86_64', description: 'BusyBox 1.35.0 test image for Lodge', os: 'busybox', release: '1.35.0', variant: 'default' });
    expect(img).not.toHaveProperty('update_source');

    const list0 = await d.api('GET', '/1.0/images');
    expect(list0.json.metadata).toEqual([`/1.0/images/${fp}`]);
    const list1 = await d.api('GET', '/1.0/images?recursion=1');
    expect(list1.json.metadata).toEqual([img]);
    expect((await d.api('GET', `/1.0/images/${'0'.repeat(64)}`)).status).toBe(404);
  });

  it('a second import of the same file is refused as LXD refuses it', async () => {
    const before = storeFiles();
    const r = await lxc('image', 'import', BUSYBOX_UNIFIED);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Image with same fingerprint already exists');
    expect(await imageRows()).toEqual([unifiedFp()]);
    expect(storeFiles()).toEqual(before);
  });

  it('lxc image list and lxc image info show the image', async () => {
    const fp = unifiedFp();
    const list = await lxc('image', 'list');
    expect(list.code).toBe(0);
    for (const column of ['ALIAS', 'FINGERPRINT', 'PUBLIC', 'DESCRIPTION', 'ARCHITECTURE', 'TYPE', 'SIZE', 'UPLOAD DATE']) expect(list.stdout).toContain(column);
    const row = list.stdout.split('\n').find((l) => l.includes(fp.slice(0, 12)))!;
    expect(row).toMatch(/\|\s*bb\s*\|/);
    expect(row).toContain('BusyBox 1.35.0 test image for Lodge');
    expect(row).toContain('x86_64');
    expect(row).toContain('CONTAINER');
    expect(row).toMatch(/\|\s*no\s*\|/);

    const csv = await lxc('image', 'list', '--format', 'csv', '-c', 'lfs');
    expect(csv.stdout.trim()).toBe(`bb,${fp.slice(0, 12)},0.91MB`);

    const info = await lxc('image', 'info', 'bb');
    expect(info.code).toBe(0);
    expect(info.stdout).toContain(`Fingerprint: ${fp}`);
    expect(info.stdout).toContain('Architecture: x86_64');
    expect(info.stdout).toContain('Type: container');
    expect(info.stdout).toContain('Public: no');
    expect(info.stdout).toMatch(/Aliases:\s*\n\s*- bb/);
    expect(info.stdout).toContain('os: busybox');
  });

  it('lxc image show / lxc image edit (YAML on stdin, sent back with the ETag)', async () => {
    const shown = await lxc('image', 'show', 'bb');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('public: false');
    expect(shown.stdout).toContain('os: busybox');
    const edited = shown.stdout.replace('os: busybox', 'os: busybox-edited');
    expect(await lxcWithInput(edited, 'image', 'edit', 'bb')).toEqual({ code: 0, stdout: '', stderr: '' });
    expect((await d.api('GET', `/1.0/images/${unifiedFp()}`)).json.metadata.properties.os).toBe('busybox-edited');
    expect((await lxcWithInput(shown.stdout, 'image', 'edit', 'bb')).code).toBe(0);
    expect((await d.api('GET', `/1.0/images/${unifiedFp()}`)).json.metadata.properties.os).toBe('busybox');
  });

  it('lxc image import of a split pair (metadata + rootfs.tar.xz): fingerprint = sha256(metadata ++ rootfs)', async () => {
    const fp = sha256(files.meta, files.rootfsXz);
    const r = await lxc('image', 'import', files.meta, files.rootfsXz, '--alias', 'bb-split');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Image imported with fingerprint: ${fp}`);
    const img = (await d.api('GET', `/1.0/images/${fp}`)).json.metadata;
    expect(img.size).toBe(readFileSync(files.meta).length + readFileSync(files.rootfsXz).length);
    expect(img.aliases).toEqual([{ name: 'bb-split', description: '' }]);
    expect(img.filename).toBe('rootfs.tar.xz');
    expect(poolImages()).toContain(fp);
  });

  it('lxc image import of a split pair with a squashfs rootfs', async () => {
    const fp = sha256(files.meta, files.rootfsSquash);
    const r = await lxc('image', 'import', files.meta, files.rootfsSquash, '--alias', 'bb-squash');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Image imported with fingerprint: ${fp}`);
    // the squashfs was really unpacked: the busybox binary is in the pool's image volume
    expect(existsSync(join(d.dir, 'storage-pools', 'default', 'images', fp, 'rootfs', 'bin', 'busybox'))).toBe(true);
  });

  it('lxc image export writes files that hash back to the fingerprint (unified and split)', async () => {
    const outUnified = join(work, 'export-unified');
    mkdirSync(outUnified);
    const u = await lxc('image', 'export', 'bb', outUnified + '/');
    expect(u.stderr).toBe('');
    expect(u.code).toBe(0);
    expect(readdirSync(outUnified)).toEqual([`${unifiedFp()}.tar.xz`]);
    expect(sha256(join(outUnified, `${unifiedFp()}.tar.xz`))).toBe(unifiedFp());

    const fp = sha256(files.meta, files.rootfsSquash);
    const outSplit = join(work, 'export-split');
    mkdirSync(outSplit);
    const s = await lxc('image', 'export', 'bb-squash', outSplit + '/');
    expect(s.stderr).toBe('');
    expect(s.code).toBe(0);
    expect(readdirSync(outSplit).sort()).toEqual([`${fp}.squashfs`, `meta-${fp}.tar.xz`]);
    expect(sha256(join(outSplit, `meta-${fp}.tar.xz`), join(outSplit, `${fp}.squashfs`))).toBe(fp);
  });

  it('lxc image alias create / list / rename / delete', async () => {
    const fp = unifiedFp();
    const created = await lxc('image', 'alias', 'create', 'juju/busybox/amd64', fp.slice(0, 12));
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect((await d.api('PATCH', '/1.0/images/aliases/juju/busybox/amd64', { body: { description: 'nested name' } })).status).toBe(200);
    const list = await lxc('image', 'alias', 'list', '--format', 'csv');
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(`juju/busybox/amd64,${fp.slice(0, 12)},CONTAINER,nested name`);
    expect((await d.api('GET', '/1.0/images/aliases/juju/busybox/amd64')).json.metadata).toEqual({
      description: 'nested name',
      target: fp,
      name: 'juju/busybox/amd64',
      type: 'container',
    });

    const dup = await lxc('image', 'alias', 'create', 'bb', fp);
    expect(dup.code).not.toBe(0);
    expect(dup.stderr).toContain("Alias 'bb' already exists");
    const missing = await lxc('image', 'alias', 'create', 'nothing', 'ffffffffffff');
    expect(missing.code).not.toBe(0);

    expect((await lxc('image', 'alias', 'rename', 'juju/busybox/amd64', 'bb2')).code).toBe(0);
    expect((await aliasRows()).map((a) => a.name)).toEqual(['bb', 'bb-split', 'bb-squash', 'bb2']);
    expect((await lxc('image', 'alias', 'delete', 'bb2')).code).toBe(0);
    expect((await aliasRows()).map((a) => a.name)).toEqual(['bb', 'bb-split', 'bb-squash']);
    expect((await d.api('GET', '/1.0/images/aliases/bb2')).status).toBe(404);
  });

  it('alias PUT / PATCH honour If-Match; recursion lists entries', async () => {
    const fp = unifiedFp();
    const got = await d.api('GET', '/1.0/images/aliases/bb');
    const etag = got.headers.etag as string;
    expect((await d.api('PATCH', '/1.0/images/aliases/bb', { body: { description: 'x' }, headers: { 'If-Match': '"nope"' } })).status).toBe(412);
    expect((await d.api('PATCH', '/1.0/images/aliases/bb', { body: { description: 'patched' }, headers: { 'If-Match': etag } })).status).toBe(200);
    expect((await d.api('PUT', '/1.0/images/aliases/bb', { body: { description: 'put' } })).status).toBe(400);
    expect((await d.api('PUT', '/1.0/images/aliases/bb', { body: { target: fp, description: 'put' } })).status).toBe(200);
    const all = (await d.api('GET', '/1.0/images/aliases?recursion=1')).json.metadata;
    expect(all.find((a: { name: string }) => a.name === 'bb')).toEqual({ description: 'put', target: fp, name: 'bb', type: 'container' });
    expect((await d.api('GET', '/1.0/images/aliases')).json.metadata).toContain('/1.0/images/aliases/bb');
  });

  it('PUT / PATCH /1.0/images/{fp}: properties, public, If-Match', async () => {
    const fp = unifiedFp();
    const got = await d.api('GET', `/1.0/images/${fp}`);
    const etag = got.headers.etag as string;
    const put = { ...got.json.metadata, public: true, properties: { os: 'busybox', description: 'edited' } };
    expect((await d.api('PUT', `/1.0/images/${fp}`, { body: put, headers: { 'If-Match': '"stale"' } })).status).toBe(412);
    expect((await d.api('PUT', `/1.0/images/${fp}`, { body: put, headers: { 'If-Match': etag } })).status).toBe(200);
    let img = (await d.api('GET', `/1.0/images/${fp}`)).json.metadata;
    expect(img.public).toBe(true);
    expect(img.properties).toEqual({ description: 'edited', os: 'busybox' });

    expect((await d.api('PATCH', `/1.0/images/${fp}`, { body: { properties: { release: '1' } } })).status).toBe(200);
    img = (await d.api('GET', `/1.0/images/${fp}`)).json.metadata;
    expect(img.properties).toEqual({ description: 'edited', os: 'busybox', release: '1' });
    expect(img.public).toBe(true);

    const bad = await d.api('PATCH', `/1.0/images/${fp}`, { body: { public: 'yes' } });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toBe('Invalid public: expected true or false');
    const info = await lxc('image', 'info', fp.slice(0, 12));
    expect(info.stdout).toContain('Public: yes');
    expect(info.stdout).toContain('description: edited');
  });

  it('raw REST: a multipart split upload with X-LXD-fingerprint and X-LXD-properties; op metadata has fingerprint and size', async () => {
    const meta = readFileSync(files.meta);
    const rootfs = await tarball([{ name: './' }, { name: './etc/' }, { name: './etc/hostname', body: 'raw\n' }]);
    const fp = createHash('sha256').update(meta).update(rootfs).digest('hex');
    const boundary = randomBytes(16).toString('hex');
    const body = multipart(boundary, [
      { name: 'metadata', filename: 'meta.tar.xz', data: meta },
      { name: 'rootfs', filename: 'raw-rootfs.tar.gz', data: rootfs },
    ]);
    const headers = { 'Content-Type': `multipart/form-data; boundary=${boundary}` };

    const wrong = await d.api('POST', '/1.0/images', { raw: body, headers: { ...headers, 'X-LXD-fingerprint': 'f'.repeat(64) } });
    expect(wrong.status).toBe(400);
    expect(wrong.json.error).toContain(`fingerprint mismatch: the upload hashes to ${fp}`);
    expect(await imageRows()).not.toContain(fp);

    const res = await d.api('POST', '/1.0/images', {
      raw: body,
      headers: { ...headers, 'X-LXD-fingerprint': fp, 'X-LXD-public': 'true', 'X-LXD-properties': 'os=raw&note=hello%20world' },
    });
    expect(res.status).toBe(202);
    expect(res.json.metadata.description).toBe('Downloading image');
    const op = await d.waitOp(res);
    expect(op.status).toBe('Success');
    expect(op.metadata).toEqual({ fingerprint: fp, size: String(meta.length + rootfs.length) });
    const img = (await d.api('GET', `/1.0/images/${fp}`)).json.metadata;
    expect(img.public).toBe(true);
    expect(img.properties).toMatchObject({ os: 'raw', note: 'hello world', description: 'BusyBox 1.35.0 test image for Lodge' });
    expect(img.filename).toBe('raw-rootfs.tar.gz');

    // export of a split image over raw REST: multipart with metadata then rootfs, same bytes
    const exp = await d.api('GET', `/1.0/images/${fp}/export`);
    expect(exp.status).toBe(200);
    expect(String(exp.headers['content-type'])).toMatch(/^multipart\/form-data; boundary=/);

    const del = await d.api('DELETE', `/1.0/images/${fp}`);
    expect((await d.waitOp(del)).status).toBe('Success');
    expect(await imageRows()).not.toContain(fp);
  });

  it('raw REST: a zstd unified tarball with X-LXD-filename; export names it <fp>.tar.zst', async () => {
    const file = join(work, 'bb.tar.zst');
    execFileSync('tar', ['-C', BUSYBOX_DIR, '--numeric-owner', '--zstd', '-cf', file, 'metadata.yaml', 'rootfs']);
    const fp = sha256(file);
    const res = await d.api('POST', '/1.0/images', { raw: readFileSync(file), headers: { 'Content-Type': 'application/octet-stream', 'X-LXD-filename': 'bb.tar.zst' } });
    const op = await d.waitOp(res);
    expect(op.status).toBe('Success');
    expect(op.metadata.fingerprint).toBe(fp);
    expect((await d.api('GET', `/1.0/images/${fp}`)).json.metadata.filename).toBe('bb.tar.zst');
    const exp = await d.api('GET', `/1.0/images/${fp}/export`);
    expect(exp.status).toBe(200);
    expect(exp.headers['content-type']).toBe('application/octet-stream');
    expect(exp.headers['content-disposition']).toBe(`inline;filename=${fp}.tar.zst`);
    expect(Number(exp.headers['content-length'])).toBe(readFileSync(file).length);
    expect((await d.waitOp(await d.api('DELETE', `/1.0/images/${fp.slice(0, 16)}`))).status).toBe('Success');
    expect(storeFiles().filter((f) => f.startsWith(fp))).toEqual([]);
  });

  it('files an interrupted import left in the store (no row) are listed again by the next upload of the same bytes', async () => {
    const file = join(work, 'bb.tar.gz');
    execFileSync('tar', ['-C', BUSYBOX_DIR, '--numeric-owner', '-czf', file, 'metadata.yaml', 'rootfs']);
    const fp = sha256(file);
    // what a daemon killed between the store and the database leaves: files and volume, no row
    await d.daemon.app.get(ImageStore).importUnified(file);
    expect(await imageRows()).not.toContain(fp);
    const r = await lxc('image', 'import', file, '--alias', 'bb-gz');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Image imported with fingerprint: ${fp}`);
    expect(await imageRows()).toContain(fp);
    expect(storeFiles().filter((f) => f.startsWith('.upload-'))).toEqual([]);
    expect((await lxc('image', 'delete', 'bb-gz')).code).toBe(0);
    expect(storeFiles().filter((f) => f.startsWith(fp))).toEqual([]);
    expect(poolImages()).not.toContain(fp);
  });

  it('a JSON body asking to copy from another server gets a clear 501', async () => {
    const res = await d.api('POST', '/1.0/images', { body: { source: { type: 'image', mode: 'pull', server: 'https://127.0.0.1:1', protocol: 'lxd', fingerprint: 'abc' } } });
    expect(res.status).toBe(501);
    expect(res.json.error).toContain('not supported');
  });

  describe('unsafe or broken uploads: 400 and nothing left behind', () => {
    const cases: Array<[string, () => Promise<Buffer>, RegExp]> = [
      ['a ".." member', () => unsafe([{ name: 'rootfs/../../evil', body: 'x' }]), /contains "\.\."/],
      ['an absolute member', () => unsafe([{ name: '/etc/evil', body: 'x' }]), /absolute path/],
      ['a symlink out of the rootfs', () => unsafe([{ name: 'rootfs/up', type: 'symlink', linkname: '../../../../etc' }]), /points out of the rootfs/],
      ['a write through a symlink', () => unsafe([{ name: 'rootfs/lnk', type: 'symlink', linkname: '/etc' }, { name: 'rootfs/lnk/passwd', body: 'x' }]), /through the symlink/],
      ['a hardlink out of the rootfs', () => unsafe([{ name: 'rootfs/shadow', type: 'link', linkname: '/etc/shadow' }]), /hardlink/],
      ['a device node outside the rootfs', () => unsafe([{ name: 'null', type: 'character-device', devmajor: 1 }]), /device node/],
      ['no metadata.yaml', () => tarball([{ name: 'rootfs/' }, { name: 'rootfs/x', body: 'x' }]), /no metadata\.yaml/],
      ['not a tarball at all', async () => randomBytes(4096), /unsupported image file/],
    ];

    it.each(cases)('%s', async (_what, make, message) => {
      const rowsBefore = await imageRows();
      const filesBefore = storeFiles();
      const poolBefore = poolImages();
      const res = await d.api('POST', '/1.0/images', { raw: await make(), headers: { 'Content-Type': 'application/octet-stream' } });
      expect(res.status).toBe(400);
      expect(res.json.type).toBe('error');
      expect(res.json.error).toMatch(message);
      expect(await imageRows()).toEqual(rowsBefore);
      expect(storeFiles()).toEqual(filesBefore);
      expect(poolImages()).toEqual(poolBefore);
    });

    it('lxc image import of an unsafe tarball fails with the reason', async () => {
      const file = join(work, 'evil.tar.gz');
      writeFileSync(file, await unsafe([{ name: 'rootfs/up', type: 'symlink', linkname: '../../../../etc' }]));
      const rowsBefore = await imageRows();
      const r = await lxc('image', 'import', file);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('points out of the rootfs');
      expect(await imageRows()).toEqual(rowsBefore);
    });

    it('a split upload whose second part is not "rootfs"', async () => {
      const boundary = 'b0undary';
      const res = await d.api('POST', '/1.0/images', {
        raw: multipart(boundary, [
          { name: 'metadata', filename: 'm', data: readFileSync(files.meta) },
          { name: 'other', filename: 'r', data: Buffer.from('x') },
        ]),
        headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
      });
      expect(res.status).toBe(400);
      expect(res.json.error).toBe('Invalid multipart image');
      expect(storeFiles().filter((f) => f.startsWith('.upload-'))).toEqual([]);
    });
  });

  it('DELETE refuses an image an instance is built on, then lxc image delete removes row, aliases, files and volume', async () => {
    const fp = unifiedFp();
    await d.instances.create({ name: 'img-user', source: { type: 'image', alias: 'bb' } });
    try {
      const res = await d.api('DELETE', `/1.0/images/${fp}`);
      expect(res.status).toBe(400);
      expect(res.json.error).toBe('Image is in use by instance(s): img-user');
      expect(await imageRows()).toContain(fp);
    } finally {
      await d.instances.delete('img-user');
    }
    const r = await lxc('image', 'delete', 'bb');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await imageRows()).not.toContain(fp);
    expect((await aliasRows()).map((a) => a.name)).not.toContain('bb');
    expect(storeFiles().filter((f) => f.startsWith(fp))).toEqual([]);
    expect(poolImages()).not.toContain(fp);
    expect((await d.api('GET', `/1.0/images/${fp}`)).status).toBe(404);
  });
});
