import { lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Container } from '@lodge/runtime';
import { makeHarness, run, sh, waitFor } from './harness';

describe('a busybox system container boots unprivileged', () => {
  const h = makeHarness('boot');
  let c: Container;
  let rootfs: string;

  beforeAll(async () => {
    rootfs = h.rootfs();
    c = await h.spawn('boot1', { rootfs, hostname: 'bootbox' });
  });
  afterAll(() => h.teardown());

  it('runs init as PID 1 and sees only its own processes', async () => {
    const ps = await sh(c, 'readlink /proc/1/exe; ls /proc | grep -E "^[0-9]+$" | sort -n | tr "\\n" " "');
    const [exe, pids] = ps.stdout.split('\n');
    // /sbin/init is busybox, which renames itself "init"
    expect(exe.trim()).toBe('/bin/busybox');
    expect((await run(c, ['/bin/cat', '/proc/1/comm'])).stdout.trim()).toBe('init');
    // init, whatever its boot scripts still run, this shell and its pipeline: a handful (how
    // many depends on how far boot got), never the host's hundreds
    const visible = pids.trim().split(' ').map(Number);
    const hostPids = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
    expect(visible[0]).toBe(1);
    expect(visible.length).toBeLessThan(20);
    expect(visible.length).toBeLessThan(hostPids.length / 3);
    // host processes are not there: our own (host) pid is far bigger and absent
    expect(visible).not.toContain(process.pid);
  });

  it('has the container hostname', async () => {
    expect((await run(c, ['/bin/hostname'])).stdout.trim()).toBe('bootbox');
  });

  it('is mapped to the unprivileged host range', async () => {
    const map = (await run(c, ['/bin/cat', '/proc/self/uid_map'])).stdout.trim().split(/\s+/).map(Number);
    const { uidMap } = h.runtime.defaultIdMaps();
    expect(map).toEqual([0, uidMap[0].outside, 65536]);
    expect(uidMap[0].outside).toBeGreaterThan(0);
    // the container's root is not the host's root: its processes run as the mapped uid on the host
    const status = readFileSync(`/proc/${c.pid}/status`, 'utf8');
    expect(status).toMatch(new RegExp(`^Uid:\\s+${uidMap[0].outside}\\s`, 'm'));
  });

  it('sees its rootfs owned by root inside, while the host files stay untouched (idmapped mount)', async () => {
    const inside = (await sh(c, 'stat -c "%u:%g" /etc/passwd /bin/busybox /root')).stdout.trim().split('\n');
    expect(inside).toEqual(['0:0', '0:0', '0:0']);
    expect(statSync(join(rootfs, 'etc', 'passwd')).uid).toBe(0);
    // a file the container creates is stored with the image's own ids, not the host range
    await sh(c, 'echo hi > /root/made-inside && chown 1000:1000 /root/made-inside');
    const st = lstatSync(join(rootfs, 'root', 'made-inside'));
    expect([st.uid, st.gid]).toEqual([1000, 1000]);
  });

  it('mounts /proc, a read-only /sys, a private /dev and its own cgroup tree', async () => {
    const mounts = (await sh(c, 'cat /proc/self/mounts')).stdout;
    expect(mounts).toMatch(/^proc \/proc proc /m);
    expect(mounts).toMatch(/^sysfs \/sys sysfs ro,/m);
    expect(mounts).toMatch(/ \/dev tmpfs /);
    expect(mounts).toMatch(/ \/dev\/pts devpts /);
    expect(mounts).toMatch(/ \/dev\/shm tmpfs /);
    expect(mounts).toMatch(/ \/run tmpfs /);
    const devs = (await sh(c, 'ls /dev | tr "\\n" " "')).stdout;
    for (const d of ['null', 'zero', 'full', 'random', 'urandom', 'tty', 'console', 'ptmx', 'pts', 'shm']) {
      expect(devs.split(' ')).toContain(d);
    }
    expect((await sh(c, 'echo x > /dev/null && head -c 4 /dev/zero | od -An -tx1')).stdout.trim()).toBe('00 00 00 00');
    // the cgroup namespace makes the container's own cgroup its root
    const cg = (await run(c, ['/bin/cat', '/proc/self/cgroup'])).stdout;
    for (const line of cg.trim().split('\n')) expect(line.split(':')[2]).toBe('/');
  });

  it('owns its cgroup: it can make sub-cgroups (as systemd does) but not change its own limits', async () => {
    const r = await sh(
      c,
      'd=/sys/fs/cgroup/pids; [ -f /sys/fs/cgroup/cgroup.controllers ] && d=/sys/fs/cgroup; ' +
        'mkdir $d/inner && echo $$ > $d/inner/cgroup.procs && grep -c inner /proc/self/cgroup; ' +
        'echo 100000 > $d/pids.max; echo own-limit=$?',
    );
    expect(Number(r.stdout.split('\n')[0])).toBeGreaterThanOrEqual(1);
    expect(r.stdout).toContain('own-limit=1');
    expect(r.stderr).toMatch(/Permission denied/);
  });

  it('does not see host mounts', async () => {
    // mount points (field 5): only the container's own; host mount points are not there
    const points = (await sh(c, 'cat /proc/self/mountinfo')).stdout.trim().split('\n').map((l) => l.split(' ')[4]);
    expect(points[0]).toBe('/');
    const allowed = /^\/(proc|sys|dev|run|etc\/hostname)(\/|$)/;
    expect(points.slice(1).filter((p) => !allowed.test(p))).toEqual([]);
    const hostPoints = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean).length;
    expect(points.length).toBeLessThan(hostPoints + 30);
    expect(points).not.toContain('/work');
  });

  it('writes init output to the console log', async () => {
    expect(await waitFor(() => c.consoleOutput().includes('lodge-busybox: booted'))).toBe(true);
  });

  it('keeps writes through /dev/console in the log, appended', async () => {
    await sh(c, 'echo via-dev-console >> /dev/console');
    expect(c.consoleOutput()).toMatch(/lodge-busybox: booted[\s\S]*via-dev-console/);
  });
});
