import { existsSync } from 'node:fs';
import { Container } from '@lodge/runtime';
import { makeHarness, run } from './harness';

interface Attempt {
  ok: boolean;
  errno: string;
}

describe('escape attempts from an unprivileged container fail', () => {
  const h = makeHarness('escape');
  let c: Container;
  let result: Record<string, Attempt & Record<string, unknown>>;

  beforeAll(async () => {
    c = await h.spawn('esc1');
    const out = await run(c, ['/usr/local/bin/payload', 'escape', String(process.pid)]);
    result = JSON.parse(out.stdout);
  });
  afterAll(() => h.teardown());

  it('cannot trigger sysrq', () => {
    expect(result.sysrq.ok).toBe(false);
    if (existsSync('/proc/sysrq-trigger')) {
      expect(['EACCES', 'EPERM', 'EROFS']).toContain(result.sysrq.errno);
    } else {
      // this kernel is built without CONFIG_MAGIC_SYSRQ: there is nothing to write to
      expect(result.sysrq.errno).toBe('ENOENT');
    }
  });

  it('cannot make or mount a host block device', () => {
    expect(result.mknod_block.ok).toBe(false);
    expect(result.mknod_block.errno).toBe('EPERM');
    expect(result.mount_block.ok).toBe(false);
  });

  it.each(['init_module', 'finit_module', 'delete_module', 'kexec_load', 'kexec_file_load', 'open_by_handle_at'])(
    '%s is refused with EPERM',
    (name) => {
      expect(result[name].ok).toBe(false);
      expect(result[name].errno).toBe('EPERM');
    },
  );

  it('cannot force-unmount', () => {
    expect(result.umount_force.ok).toBe(false);
    expect(result.umount_force.errno).toBe('EPERM');
  });

  it('cannot signal a host process', () => {
    expect(result.kill_host.ok).toBe(false);
    expect(result.kill_host.errno).toBe('ESRCH');
  });

  it('sees no host network interface', () => {
    expect(result.host_interfaces.ok).toBe(false);
  });

  it('cannot raise its own cgroup limits', () => {
    expect(result.raise_cgroup.ok).toBe(false);
  });

  it('cannot set the host clock', () => {
    expect(result.settime.ok).toBe(false);
    expect(result.settime.errno).toBe('EPERM');
  });

  it('runs with seccomp filtering and without the dropped capabilities', async () => {
    const report = JSON.parse((await run(c, ['/usr/local/bin/payload', 'report'])).stdout);
    expect(report.seccomp).toBe(2);
    const bnd = BigInt(`0x${report.cap_bnd}`);
    for (const cap of [16 /* sys_module */, 17 /* sys_rawio */, 25 /* sys_time */]) {
      expect((bnd >> BigInt(cap)) & 1n).toBe(0n);
    }
    expect((bnd >> 21n) & 1n).toBe(1n); // sys_admin stays (inside its own namespaces)
  });
});
