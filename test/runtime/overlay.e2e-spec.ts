import { existsSync, lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Container } from '@lodge/runtime';
import { BUSYBOX_ROOTFS, hostMountsUnder, makeHarness, sh } from './harness';

describe('copy-on-write rootfs: an image shared as an idmapped overlay lower layer', () => {
  const h = makeHarness('overlay');
  const layers = (name: string) => {
    const base = join(h.dir, `vol-${name}`);
    const l = { upper: join(base, 'upper'), work: join(base, 'work'), lowerMount: join(base, 'lower'), mnt: join(base, 'rootfs') };
    for (const d of Object.values(l)) mkdirSync(d, { recursive: true });
    return l;
  };
  let a: Container;
  let b: Container;
  let la: ReturnType<typeof layers>;

  beforeAll(async () => {
    la = layers('a');
    const lb = layers('b');
    a = await h.spawn('ova', { rootfs: la.mnt, rootfsOverlay: { lower: BUSYBOX_ROOTFS, upper: la.upper, work: la.work, lowerMount: la.lowerMount } });
    b = await h.spawn('ovb', { rootfs: lb.mnt, rootfsOverlay: { lower: BUSYBOX_ROOTFS, upper: lb.upper, work: lb.work, lowerMount: lb.lowerMount } });
  });
  afterAll(() => h.teardown());

  it('shows the image files owned by root inside, and its root directory too', async () => {
    const r = await sh(a, 'stat -c %u:%g / /etc/passwd /bin/busybox');
    expect(r.stdout.trim().split('\n')).toEqual(['0:0', '0:0', '0:0']);
    expect((await sh(a, 'grep " / " /proc/self/mountinfo')).stdout).toContain(' - overlay ');
  });

  it('keeps each container\'s writes in its own upper layer, and the image untouched', async () => {
    await sh(a, 'echo from-a > /etc/only-a && rm /etc/shells');
    expect((await sh(b, 'cat /etc/only-a; ls /etc/shells')).stdout).toBe('/etc/shells\n');
    expect(existsSync(join(BUSYBOX_ROOTFS, 'etc', 'only-a'))).toBe(false);
    expect(existsSync(join(BUSYBOX_ROOTFS, 'etc', 'shells'))).toBe(true);
    // the new file lives in a's upper layer, owned by a's root on the host
    expect(readFileSync(join(la.upper, 'etc', 'only-a'), 'utf8')).toBe('from-a\n');
    expect(lstatSync(join(la.upper, 'etc', 'only-a')).uid).toBe(h.runtime.defaultIdMaps().uidMap[0].outside);
  });

  it('mounts nothing on the host', () => {
    expect(hostMountsUnder(h.dir)).toEqual([]);
    expect(hostMountsUnder(BUSYBOX_ROOTFS)).toEqual([]);
  });

  it('refuses overlay paths overlayfs cannot take', async () => {
    const l = layers('c');
    await expect(
      h.spawn('ovc', { rootfs: l.mnt, rootfsOverlay: { lower: BUSYBOX_ROOTFS, upper: `${l.upper}`, work: l.work, lowerMount: '/tmp/a,b' } }),
    ).rejects.toThrow(/must not contain/);
  });
});
