import { execFileSync } from 'node:child_process';
import { closeSync, openSync, statSync } from 'node:fs';
import { makeHarness, run, sh } from './harness';

describe('joining an existing network namespace', () => {
  const h = makeHarness('netns');
  const ns = `lodge-test-${process.pid}`;
  let fd: number | undefined;

  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', ns]);
    // a veth pair made inside the namespace: both ends live and die with it
    execFileSync('ip', ['-n', ns, 'link', 'add', 'lodgetest0', 'type', 'veth', 'peer', 'name', 'lodgetest1']);
    fd = openSync(`/run/netns/${ns}`, 'r');
  });
  afterAll(async () => {
    await h.teardown();
    if (fd !== undefined) closeSync(fd);
    execFileSync('ip', ['netns', 'del', ns]);
  });

  it('puts init in the given namespace, with a read-only /sys of the host bound in', async () => {
    const c = await h.spawn('netns1', { netnsFd: fd! });
    const devs = (await run(c, ['/bin/cat', '/proc/net/dev'])).stdout;
    expect(devs).toContain('lodgetest0:');
    const inode = statSync(`/run/netns/${ns}`).ino;
    expect((await sh(c, 'readlink /proc/1/ns/net')).stdout.trim()).toBe(`net:[${inode}]`);
    // sysfs cannot be mounted for a network namespace the container does not own
    expect((await sh(c, 'grep " /sys " /proc/self/mountinfo')).stdout).toMatch(/ \/sys ro,/);
    await c.stop({ force: true });
  });
});

describe('a privileged container (explicit opt-in)', () => {
  const h = makeHarness('priv');
  afterAll(() => h.teardown());

  it('runs as host root without a user namespace, with the host kernel knobs read-only', async () => {
    const c = await h.spawn('priv1', { privileged: true });
    expect((await run(c, ['/bin/cat', '/proc/self/uid_map'])).stdout.trim().split(/\s+/)).toEqual(['0', '0', '4294967295']);
    const w = await sh(c, 'echo lodge > /proc/sys/kernel/domainname');
    expect(w.stderr).toMatch(/Read-only file system/);
    expect((await sh(c, 'grep -c " /proc/sys ro," /proc/self/mountinfo')).stdout.trim()).toBe('1');
  });

  it('may make a block device node but the device allowlist keeps it from opening it', async () => {
    const c = h.runtime.get('priv1');
    expect(c).toBeDefined();
    if (!c) return;
    const st = statSync('/');
    // the kernel's dev_t encoding as stat(2) returns it
    const major = (st.dev >> 8) & 0xfff;
    const minor = (st.dev & 0xff) | ((st.dev >> 12) & 0xfff00);
    const r = await sh(c, `mknod /tmp/hostdisk b ${major} ${minor} && head -c 1 /tmp/hostdisk >/dev/null; echo rc=$?`);
    expect(r.stdout).toContain('rc=1');
    expect(r.stderr).toMatch(/Operation not permitted/);
    await c.stop({ force: true });
  });
});
