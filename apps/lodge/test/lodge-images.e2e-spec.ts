/**
 * The `lodge` binary managing images on a real lodged: unified and split (metadata + squashfs)
 * imports whose fingerprints are the sha256 a user computes, list formats, aliases, exports
 * that hash back to the fingerprint, delete, a launch from the imported image, and a refused
 * upload that leaves no image behind.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { BUSYBOX_UNIFIED, EngineDaemon, IMAGES, startEngineDaemon } from '../../lodged/test/engine-daemon';
import { baseEnv, lodgeFor, runLodgeOnTty } from './run-lodge';

const sha256 = (...files: string[]) => {
  const h = createHash('sha256');
  for (const f of files) h.update(readFileSync(f));
  return h.digest('hex');
};

describe('lodge CLI: images', () => {
  let d: EngineDaemon;
  let home: string;
  let work: string;
  const { lodge, ok } = lodgeFor(() => baseEnv(home, d.dir));
  const unifiedFp = () => sha256(BUSYBOX_UNIFIED);
  const meta = () => join(work, 'meta.tar.xz');
  const squash = () => join(work, 'rootfs.squashfs');

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'lodge-cli-img-'));
    work = mkdtempSync(join(tmpdir(), 'lodge-cli-img-work-'));
    d = await startEngineDaemon('cliimg');
    const busybox = join(IMAGES, 'busybox');
    execFileSync('tar', ['-C', busybox, '--numeric-owner', '-cJf', meta(), 'metadata.yaml', 'templates']);
    execFileSync('mksquashfs', [join(busybox, 'rootfs'), squash(), '-noappend', '-quiet', '-no-progress']);
  });
  afterAll(async () => {
    try {
      await d?.cleanup();
    } finally {
      rmSync(home, { recursive: true, force: true });
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('imports a unified image with an alias; the fingerprint is the file sha256', async () => {
    const r = await lodge('image', 'import', BUSYBOX_UNIFIED, '--alias', 'bb');
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toBe(`Image imported with fingerprint: ${unifiedFp()}\n`);
    const img = (await d.api('GET', `/1.0/images/${unifiedFp()}`)).json.metadata;
    expect(img.aliases).toEqual([{ name: 'bb', description: '' }]);
  });

  it('imports a split image (metadata + squashfs rootfs) as multipart', async () => {
    const fp = sha256(meta(), squash());
    expect(await ok('image', 'import', meta(), squash(), '--alias', 'bb-split')).toBe(`Image imported with fingerprint: ${fp}\n`);
    expect((await d.api('GET', `/1.0/images/${fp}`)).json.metadata.aliases).toEqual([{ name: 'bb-split', description: '' }]);
  });

  it('lists images as table, csv, json and yaml', async () => {
    const csv = (await ok('image', 'list', '-f', 'csv')).trim().split('\n').sort();
    expect(csv).toHaveLength(2);
    const row = csv.map((l) => l.split(',')).find((c) => c[0] === 'bb')!;
    expect(row.slice(0, 3)).toEqual(['bb', unifiedFp().slice(0, 12), 'no']);
    expect(row[5]).toBe('CONTAINER');
    const table = (await ok('image', 'list')).split('\n').map((l) => l.split('|').map((c) => c.trim()));
    expect(table[1].slice(1, -1)).toEqual(['ALIAS', 'FINGERPRINT', 'PUBLIC', 'DESCRIPTION', 'ARCHITECTURE', 'TYPE', 'SIZE', 'UPLOAD DATE']);
    expect(table.find((c) => c[1] === 'bb')?.slice(2, 4)).toEqual([unifiedFp().slice(0, 12), 'no']);
    const json = JSON.parse(await ok('image', 'list', '-f', 'json'));
    expect(json.map((i: any) => i.fingerprint).sort()).toEqual([unifiedFp(), sha256(meta(), squash())].sort());
    expect(parse(await ok('image', 'list', '-f', 'yaml'))).toHaveLength(2);
  });

  it('alias create (by fingerprint prefix) / list / delete', async () => {
    await ok('image', 'alias', 'create', 'bb2', unifiedFp().slice(0, 10), '--description', 'second');
    expect((await d.api('GET', '/1.0/images/aliases/bb2')).json.metadata.target).toBe(unifiedFp());
    expect(await ok('image', 'alias', 'list', '-f', 'csv')).toBe(
      `bb,${unifiedFp().slice(0, 12)},CONTAINER,\nbb-split,${sha256(meta(), squash()).slice(0, 12)},CONTAINER,\nbb2,${unifiedFp().slice(0, 12)},CONTAINER,second\n`,
    );
    await ok('image', 'alias', 'delete', 'bb2');
    expect((await d.api('GET', '/1.0/images/aliases/bb2')).status).toBe(404);
  });

  it('exports unified and split images into files that hash back to the fingerprint', async () => {
    const out = join(work, 'export');
    mkdirSync(out);
    expect(await ok('image', 'export', 'bb', out)).toBe('Image exported successfully!\n');
    expect(readdirSync(out)).toHaveLength(1);
    expect(sha256(join(out, readdirSync(out)[0]))).toBe(unifiedFp());

    const fp = sha256(meta(), squash());
    const split = join(work, 'split');
    await ok('image', 'export', 'bb-split', split);
    expect(sha256(split, `${split}.root`)).toBe(fp);
    const splitDir = join(work, 'split-dir');
    mkdirSync(splitDir);
    await ok('image', 'export', 'bb-split', splitDir);
    expect(readdirSync(splitDir).sort()).toEqual([`${fp}.squashfs`, `meta-${fp}.tar.xz`]);
    expect(sha256(join(splitDir, `meta-${fp}.tar.xz`), join(splitDir, `${fp}.squashfs`))).toBe(fp);
  });

  it('an image imported with lodge launches', async () => {
    await ok('launch', 'bb-split', 'from-split');
    expect((await d.api('GET', '/1.0/instances/from-split')).json.metadata.status).toBe('Running');
    await ok('delete', '--force', 'from-split');
  });

  it('a refused upload fails with the daemon error and leaves no image', async () => {
    const junk = join(work, 'junk.tar.xz');
    writeFileSync(junk, 'this is not an image');
    const before = (await d.api('GET', '/1.0/images')).json.metadata;
    const r = await lodge('image', 'import', junk);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: \S/);
    expect((await d.api('GET', '/1.0/images')).json.metadata).toEqual(before);
  });

  it('deletes images by alias and by fingerprint prefix; an unknown one is an error', async () => {
    await ok('image', 'delete', 'bb-split', unifiedFp().slice(0, 12));
    expect((await d.api('GET', '/1.0/images')).json.metadata).toEqual([]);
    const r = await lodge('image', 'delete', 'bb');
    expect([r.code, r.stderr]).toEqual([1, 'Error: Image not found: bb\n']);
  });

  it('on a terminal, import shows a progress line', async () => {
    const r = await runLodgeOnTty(baseEnv(home, d.dir), ['image', 'import', BUSYBOX_UNIFIED]);
    expect(r.code).toBe(0);
    expect(r.screen).toMatch(/Transferring image: \d+% \(/);
    expect(r.screen).toContain('Transferring image: 100%');
    expect(r.screen).toContain(`Image imported with fingerprint: ${unifiedFp()}`);
    await ok('image', 'delete', unifiedFp());
  });
});
