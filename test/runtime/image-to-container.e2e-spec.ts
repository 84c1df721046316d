/**
 * The path an instance takes from an image: the unified busybox tarball imported into the image
 * store, unpacked once into a `dir` pool, two instance volumes made from it (copy-on-write), and
 * each booted by the runtime from the volume's rootfs source — nothing mounted on the host, the
 * image never rewritten.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImageStore } from '@lodge/image';
import { rootfsOptions } from '@lodge/instance';
import { StorageDriver, StorageDriverRegistry } from '@lodge/storage';
import { Container } from '@lodge/runtime';
import { hostMountsUnder, IMAGES, makeHarness, run, sh } from './harness';

describe('from an image to running containers', () => {
  const h = makeHarness('img2ct');
  let pool: StorageDriver;
  let store: ImageStore;
  let fingerprint: string;
  let a: Container;
  let b: Container;

  beforeAll(async () => {
    pool = StorageDriverRegistry.withBuiltins().open('dir', join(h.dir, 'pool'));
    await pool.createPool();
    store = new ImageStore(join(h.dir, 'images'), pool);
    const tarball = join(IMAGES, 'busybox.tar.xz');
    const info = await store.importUnified(tarball);
    fingerprint = info.fingerprint;
    expect(fingerprint).toBe(createHash('sha256').update(readFileSync(tarball)).digest('hex'));
    for (const name of ['ia', 'ib']) await pool.createInstanceVolume(name, fingerprint);
    a = await h.spawn('ia', rootfsOptions(await pool.rootfsSource('ia')));
    b = await h.spawn('ib', rootfsOptions(await pool.rootfsSource('ib')));
  });
  afterAll(async () => {
    await h.teardown();
  });

  it('boots both from the one unpacked image', async () => {
    expect((await run(a, ['/bin/hostname'])).stdout.trim()).toBe('ia');
    expect((await run(b, ['/bin/hostname'])).stdout.trim()).toBe('ib');
    expect(await pool.imageVolumes()).toEqual([fingerprint]);
    expect((await pool.imageVolumeUsers(fingerprint)).sort()).toEqual(['ia', 'ib']);
  });

  it('keeps each container\'s changes to itself and the image untouched', async () => {
    await sh(a, 'echo mine > /root/note');
    expect((await sh(b, 'cat /root/note')).stderr).toMatch(/No such file/);
    const src = await pool.rootfsSource('ia');
    if (src.kind !== 'overlay') throw new Error('a dir pool gives overlay layers for an image volume');
    expect(existsSync(join(src.lower, 'root', 'note'))).toBe(false);
    expect(readFileSync(join(src.upper, 'root', 'note'), 'utf8')).toBe('mine\n');
    expect(await pool.usage('ia')).toBeGreaterThan(0);
  });

  it('mounts nothing on the host, and the volumes go once the containers are gone', async () => {
    expect(hostMountsUnder(h.dir)).toEqual([]);
    await a.stop({ force: true });
    await b.stop({ force: true });
    await pool.deleteInstanceVolume('ia');
    await pool.deleteInstanceVolume('ib');
    expect(await pool.imageVolumeUsers(fingerprint)).toEqual([]);
    await pool.deleteImageVolume(fingerprint);
    expect(await pool.imageVolumes()).toEqual([]);
  });
});
