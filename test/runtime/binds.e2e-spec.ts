import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Container } from '@lodge/runtime';
import { makeHarness, sh } from './harness';

describe('bind mounts of host paths', () => {
  const h = makeHarness('binds');
  let c: Container;
  let roDir: string;
  let rwDir: string;
  let plainDir: string;

  beforeAll(async () => {
    roDir = join(h.dir, 'ro');
    rwDir = join(h.dir, 'rw');
    plainDir = join(h.dir, 'plain');
    for (const d of [roDir, rwDir, plainDir]) mkdirSync(d);
    writeFileSync(join(roDir, 'file'), 'host data\n');
    writeFileSync(join(plainDir, 'file'), 'plain\n');
    c = await h.spawn('bind1', {
      binds: [
        { source: roDir, target: '/mnt/ro', readonly: true, shift: true },
        { source: rwDir, target: '/srv/rw', shift: true },
        { source: plainDir, target: '/mnt/plain' },
      ],
    });
  });
  afterAll(() => h.teardown());

  it('shows a read-only bind and refuses writes', async () => {
    const r = await sh(c, 'cat /mnt/ro/file; echo x >> /mnt/ro/file');
    expect(r.stdout).toBe('host data\n');
    expect(r.stderr).toMatch(/Read-only file system/);
  });

  it('does not let container root remount a read-only bind writable, or unmount it', async () => {
    const r = await sh(c, 'mount -o remount,bind,rw /mnt/ro; echo remount=$?; umount /mnt/ro; echo umount=$?; echo pwned >> /mnt/ro/file; echo write=$?');
    expect(r.stdout).toContain('remount=1');
    expect(r.stdout).toContain('umount=1');
    expect(r.stdout).toContain('write=1');
    expect(readFileSync(join(roDir, 'file'), 'utf8')).toBe('host data\n');
  });

  it('shifts ownership on a shifted bind: container root writes files the host sees as root-owned', async () => {
    const r = await sh(c, 'echo made-inside > /srv/rw/new && stat -c %u:%g /srv/rw/new');
    expect(r.stdout.trim()).toBe('0:0');
    const st = statSync(join(rwDir, 'new'));
    expect([st.uid, st.gid]).toEqual([0, 0]);
    expect(readFileSync(join(rwDir, 'new'), 'utf8')).toBe('made-inside\n');
  });

  it('shows an unshifted bind as owned by nobody, and container root cannot write there', async () => {
    const r = await sh(c, 'stat -c %u /mnt/plain/file; echo y >> /mnt/plain/file; echo write=$?');
    expect(r.stdout).toContain('65534');
    expect(r.stdout).toContain('write=1');
    expect(readFileSync(join(plainDir, 'file'), 'utf8')).toBe('plain\n');
  });

  it('refuses binds into the container\'s own filesystems', async () => {
    await expect(h.spawn('bind2', { binds: [{ source: rwDir, target: '/proc/x' }] })).rejects.toThrow(/inside a filesystem of the container's own/);
  });
});
