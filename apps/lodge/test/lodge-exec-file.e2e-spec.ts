/**
 * `lodge exec` and `lodge file` against a real lodged with a running container: exit codes,
 * stdout/stderr kept apart, stdin piped through to EOF, --env, a pty with -t, and file push/pull
 * with the ownership and mode headers, checked in the container's own filesystem.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineDaemon, importBusybox, startEngineDaemon } from '../../lodged/test/engine-daemon';
import { spawn } from 'node:child_process';
import { baseEnv, LODGE_BIN, lodgeFor, runLodgeOnTty } from './run-lodge';

describe('lodge CLI: exec and file', () => {
  let d: EngineDaemon;
  let home: string;
  const { lodge, withInput, ok } = lodgeFor(() => baseEnv(home, d.dir));
  /** a path inside the container, seen from the host through its init's root */
  const inContainer = async (path: string) => {
    const pid = (await d.api('GET', '/1.0/instances/x1/state')).json.metadata.pid;
    return join(`/proc/${pid}/root`, path);
  };

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'lodge-cli-exec-'));
    d = await startEngineDaemon('cliexec');
    await importBusybox(d, 'bb');
    const created = await d.api('POST', '/1.0/instances', { body: { name: 'x1', source: { type: 'image', alias: 'bb' } } });
    await d.waitOp(created);
    await d.waitOp(await d.api('PUT', '/1.0/instances/x1/state', { body: { action: 'start', timeout: -1 } }));
  });
  afterAll(async () => {
    try {
      // stopped here, not killed by cleanup(): a kill there logs the stop into the removed dir
      await d?.api('PUT', '/1.0/instances/x1/state', { body: { action: 'stop', force: true } }).then((r) => r.status === 202 && d.waitOp(r))
        .catch(() => undefined);
      await d?.cleanup();
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('exec returns the command exit code with stdout and stderr apart', async () => {
    const r = await lodge('exec', 'x1', '--', '/bin/sh', '-c', 'echo out; echo err >&2; exit 7');
    expect(r).toEqual({ code: 7, stdout: 'out\n', stderr: 'err\n' });
  });

  it('exec pipes stdin through to EOF and passes --env', async () => {
    const input = 'line one\nline two\n'.repeat(2000);
    const r = await withInput(input, 'exec', 'x1', '--', 'cat');
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toBe(input);
    const env = await ok('exec', 'x1', '--env', 'GREETING=hi there', '--', '/bin/sh', '-c', 'echo "$GREETING"');
    expect(env).toBe('hi there\n');
  });

  it('options before -- are lodge\'s, after it the command\'s (as with lxc)', async () => {
    expect(await ok('exec', 'x1', '--env', 'X=1', '--', '/bin/sh', '-c', 'echo "$X" --env')).toBe('1 --env\n');
    expect(await ok('exec', 'x1', 'ls', '/etc/hostname')).toBe('/etc/hostname\n');
    const r = await lodge('exec', 'x1', 'ls', '-d', '/etc');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error: unknown option '-d'");
  });

  it('exec -t runs the command on a pty', async () => {
    const r = await lodge('exec', '-t', 'x1', '--', '/bin/sh', '-c', 'test -t 0 && test -t 1 && echo on-a-tty');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('on-a-tty');
    const piped = await lodge('exec', '-T', 'x1', '--', '/bin/sh', '-c', 'test -t 1 || echo not-a-tty');
    expect(piped.stdout).toBe('not-a-tty\n');
  });

  it('on a terminal, exec runs the command on a pty of the terminal size (auto mode)', async () => {
    const r = await runLodgeOnTty(baseEnv(home, d.dir), ['exec', 'x1', '--', '/bin/sh', '-c', 'test -t 0 && test -t 1 && echo on-a-pty; stty size; exit 3'], { rows: 33, cols: 91 });
    expect(r.code).toBe(3);
    expect(r.screen).toContain('on-a-pty\r');
    expect(r.screen).toContain('33 91\r');
  });

  it('SIGINT to lodge goes to the command (which may trap it), not just ends lodge', async () => {
    const script = 'trap "echo got-int; exit 9" INT; echo ready; while true; do sleep 1; done';
    const child = spawn(process.execPath, [LODGE_BIN, 'exec', 'x1', '--', '/bin/sh', '-c', script], { env: baseEnv(home, d.dir), stdio: ['pipe', 'pipe', 'pipe'] });
    try {
      let out = '';
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      await new Promise<void>((resolve) =>
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.includes('ready\n')) resolve();
        }),
      );
      child.kill('SIGINT');
      expect(await exited).toBe(9);
      expect(out).toBe('ready\ngot-int\n');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('exec in an unknown instance fails with the daemon wording', async () => {
    const r = await lodge('exec', 'nope', '--', 'true');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: .*not found/i);
  });

  it('file push writes the file with the given mode and owner; pull reads it back', async () => {
    const local = join(home, 'pushed.txt');
    writeFileSync(local, 'pushed by lodge\n');
    await ok('file', 'push', local, 'x1/root/pushed.txt', '--mode', '0640', '--uid', '0', '--gid', '0');
    const inside = await inContainer('/root/pushed.txt');
    expect(readFileSync(inside, 'utf8')).toBe('pushed by lodge\n');
    expect(statSync(inside).mode & 0o777).toBe(0o640);
    const head = await d.api('GET', '/1.0/instances/x1/files?path=/root/pushed.txt');
    expect([head.headers['x-lxd-uid'], head.headers['x-lxd-gid']]).toEqual(['0', '0']);

    const pulled = join(home, 'pulled.txt');
    await ok('file', 'pull', 'x1/root/pushed.txt', pulled);
    expect(readFileSync(pulled, 'utf8')).toBe('pushed by lodge\n');
    expect(statSync(pulled).mode & 0o777).toBe(0o640);
    expect(await ok('file', 'pull', 'x1/root/pushed.txt', '-')).toBe('pushed by lodge\n');
  });

  it('file push into a directory keeps the name; the local mode is the default', async () => {
    const local = join(home, 'script.sh');
    writeFileSync(local, '#!/bin/sh\necho ran\n', { mode: 0o755 });
    await ok('file', 'push', local, 'x1/tmp/');
    expect(statSync(await inContainer('/tmp/script.sh')).mode & 0o777).toBe(0o755);
    expect(await ok('exec', 'x1', '--', '/tmp/script.sh')).toBe('ran\n');
  });

  it('file pull of a missing path is an error and writes nothing', async () => {
    const target = join(home, 'never.txt');
    const r = await lodge('file', 'pull', 'x1/no/such/file', target);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: \S/);
    expect(() => statSync(target)).toThrow();
  });
});
