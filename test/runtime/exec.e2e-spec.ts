import { readdirSync, readFileSync } from 'node:fs';
import { Container } from '@lodge/runtime';
import { makeHarness, run, sh, waitFor } from './harness';

describe('exec into a running container', () => {
  const h = makeHarness('exec');
  let c: Container;

  beforeAll(async () => {
    c = await h.spawn('exec1');
  });
  afterAll(() => h.teardown());

  it('returns exit codes', async () => {
    expect((await run(c, ['/bin/true'])).exitCode).toBe(0);
    expect((await run(c, ['/bin/false'])).exitCode).toBe(1);
    expect((await sh(c, 'exit 42')).exitCode).toBe(42);
  });

  it('keeps stdout and stderr apart', async () => {
    const r = await sh(c, 'echo to-out; echo to-err >&2; echo more-out');
    expect(r.stdout).toBe('to-out\nmore-out\n');
    expect(r.stderr).toBe('to-err\n');
  });

  it('feeds stdin', async () => {
    const data = 'line one\nline two\n'.repeat(1000);
    const r = await run(c, ['/bin/cat'], data);
    expect(r.stdout).toBe(data);
    expect(r.exitCode).toBe(0);
  });

  it('sets environment, working directory and user', async () => {
    const p = await c.exec({ argv: ['/usr/local/bin/payload', 'env'], env: ['FOO=bar baz', 'PATH=/bin'], cwd: '/tmp', uid: 1000, gid: 1001 });
    p.stdin!.end();
    const r = await p.output();
    const env = JSON.parse(r.stdout);
    expect(env.env).toEqual(['FOO=bar baz', 'PATH=/bin']);
    expect(env.cwd).toBe('/tmp');
    expect([env.uid, env.gid]).toEqual([1000, 1001]);
  });

  it('finds commands on PATH', async () => {
    expect((await run(c, ['hostname'])).stdout.trim()).toBe('exec1');
  });

  it('joins the container: same pid namespace, cgroup and confinement', async () => {
    const report = JSON.parse((await run(c, ['/usr/local/bin/payload', 'report'])).stdout);
    expect(report.pids).toContain(1);
    expect(report.pid).toBeLessThan(100);
    expect(report.seccomp).toBe(2);
    expect(report.uid_map[0].split(/\s+/)[0]).toBe('0');
    for (const line of report.cgroup) expect(line.split(':')[2]).toBe('/');
  });

  it('gives a clear error for a command that does not exist', async () => {
    await expect(c.exec({ argv: ['/no/such/command'] })).rejects.toThrow(/execve \/no\/such\/command: ENOENT/);
  });

  it('forwards signals', async () => {
    const p = await c.exec({ argv: ['/usr/local/bin/payload', 'wait-signal'] });
    let out = '';
    p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    expect(await waitFor(() => out.includes('ready'))).toBe(true);
    expect(p.signal('SIGUSR1')).toBe(true);
    const exit = await p.exited;
    expect(exit.exitCode).toBe(10);
    expect(out).toContain('{"signal":10}');
  });

  it('reports a command killed by a signal', async () => {
    const p = await c.exec({ argv: ['/bin/sleep', '30'] });
    p.signal('SIGKILL');
    expect(await p.exited).toEqual({ signal: 9 });
  });

  it('runs interactively under a pty with a window size and resize', async () => {
    const p = await c.exec({ argv: ['/usr/local/bin/payload', 'winch'], pty: { rows: 30, cols: 100 } });
    let out = '';
    p.pty!.on('data', (d: Buffer) => (out += d.toString()));
    expect(await waitFor(() => out.includes('ready'))).toBe(true);
    p.resize(50, 132);
    const exit = await p.exited;
    expect(exit.exitCode).toBe(0);
    expect(await waitFor(() => out.includes('"rows":50'))).toBe(true);
    expect(out).toContain('"cols":132');
  });

  it('gives the pty a terminal that the shell reads input from', async () => {
    const p = await c.exec({ argv: ['/bin/sh'], pty: { rows: 24, cols: 80 } });
    let out = '';
    p.pty!.on('data', (d: Buffer) => (out += d.toString()));
    p.pty!.write('tty; stty size; exit 7\n');
    const exit = await p.exited;
    expect(exit.exitCode).toBe(7);
    expect(await waitFor(() => /\/dev\/pts\/\d+/.test(out))).toBe(true);
    expect(out).toContain('24 80');
  });
});

describe('exec as an unprivileged user in a container that dropped setuid/setgid', () => {
  const h = makeHarness('execdrop');
  let c: Container;

  beforeAll(async () => {
    c = await h.spawn('drop1', { dropCapabilities: ['setgid', 'setuid'] });
  });
  afterAll(() => h.teardown());

  it('still switches to the requested user (ids change before capabilities are dropped)', async () => {
    const p = await c.exec({ argv: ['/usr/local/bin/payload', 'env'], uid: 1000, gid: 1000, groups: [1000, 27] });
    p.stdin!.end();
    const env = JSON.parse((await p.output()).stdout);
    expect([env.uid, env.gid]).toEqual([1000, 1000]);
    expect([...env.groups].sort((a: number, b: number) => a - b)).toEqual([27, 1000]);
  });

  it('gives a non-root user a terminal it owns', async () => {
    const p = await c.exec({ argv: ['/bin/sh', '-c', 'stat -c %u $(tty)'], uid: 1000, gid: 1000, pty: { rows: 24, cols: 80 } });
    let out = '';
    p.pty!.on('data', (d: Buffer) => (out += d.toString()));
    await p.exited;
    expect(await waitFor(() => out.includes('1000'))).toBe(true);
  });

  it('enters the working directory as the target user', async () => {
    await expect(c.exec({ argv: ['/bin/true'], uid: 1000, gid: 1000, cwd: '/root' })).rejects.toThrow(/chdir \/root: EACCES/);
  });

  it('leaves no zombie or helper behind when a command cannot start', async () => {
    // Our children: container inits (CLONE_PARENT makes them ours) and exec'd commands.
    const children = (): Array<{ pid: string; state: string }> =>
      readdirSync('/proc')
        .filter((d) => /^\d+$/.test(d))
        .flatMap((pid) => {
          try {
            const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
            const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
            return Number(ppid) === process.pid ? [{ pid, state }] : [];
          } catch {
            return [];
          }
        });
    const before = children().map((x) => x.pid).sort();
    await expect(c.exec({ argv: ['/does/not/exist'] })).rejects.toThrow(/ENOENT/);
    await expect(c.exec({ argv: ['/bin/true'], cwd: '/nope' })).rejects.toThrow(/chdir \/nope: ENOENT/);
    const after = children();
    expect(after.map((x) => x.pid).sort()).toEqual(before);
    expect(after.filter((x) => x.state === 'Z')).toEqual([]);
    expect(after.map((x) => x.pid)).toContain(String(c.pid));
  });
});
