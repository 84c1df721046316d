import { chmodSync, existsSync, lstatSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { shiftMarkerPath, shiftOwnership } from '@lodge/runtime';
import { makeHarness, run, sh } from './harness';

describe('the one-time chown shift (for filesystems without idmapped mounts)', () => {
  const h = makeHarness('shift');
  afterAll(() => h.teardown());

  it('shifts every owner into the container range once, keeps set-id bits and records it', async () => {
    const rootfs = h.rootfs();
    writeFileSync(join(rootfs, 'usr', 'local', 'bin', 'suid-tool'), 'x');
    chmodSync(join(rootfs, 'usr', 'local', 'bin', 'suid-tool'), 0o4755);
    const { uidMap, gidMap } = h.runtime.defaultIdMaps();
    const base = uidMap[0].outside;
    await shiftOwnership(rootfs, uidMap, gidMap);
    for (const p of ['', 'etc/passwd', 'bin/busybox', 'sbin/init']) {
      const st = lstatSync(join(rootfs, p));
      expect([st.uid, st.gid]).toEqual([base, gidMap[0].outside]);
    }
    expect(statSync(join(rootfs, 'usr', 'local', 'bin', 'suid-tool')).mode & 0o7777).toBe(0o4755);
    expect(existsSync(shiftMarkerPath(rootfs))).toBe(true);

    // a second shift with the same map is a no-op; another map is refused
    await shiftOwnership(rootfs, uidMap, gidMap);
    expect(lstatSync(join(rootfs, 'etc', 'passwd')).uid).toBe(base);
    const other = [{ inside: 0, outside: base + 65536, count: 65536 }];
    await expect(shiftOwnership(rootfs, other, other)).rejects.toThrow(/already shifted to a different id map/);
  });

  it('boots a container from a shifted rootfs without an idmapped mount', async () => {
    const rootfs = h.rootfs();
    const c = await h.spawn('shifted1', { rootfs, rootfsShift: 'chown' });
    expect((await sh(c, 'stat -c %u:%g /etc/passwd /bin/busybox')).stdout.trim().split('\n')).toEqual(['0:0', '0:0']);
    const mounts = (await run(c, ['/bin/cat', '/proc/self/mountinfo'])).stdout;
    expect(mounts.split('\n')[0]).not.toContain('idmapped');
    expect(readFileSync(shiftMarkerPath(rootfs), 'utf8')).toContain('uid\n0 ');
    await c.stop({ force: true });
  });
});
