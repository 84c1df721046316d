/**
 * Exec in real containers: Debian's `lxc exec` (exit codes, stdin through, the environment, a
 * pty when interactive, signals forwarded, errors for stopped and frozen instances) and the raw
 * REST protocol from node (websocket per fd, control channel, metadata.return, record-output
 * files under /logs/exec-output).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineDaemon, importBusybox, startEngineDaemon } from '../engine-daemon';
import { LxcResult, openWs, runLxc } from '../support';

const LXC = '/usr/bin/lxc';

/** Connects a websocket to an exec operation's fd and gathers what it receives until it closes. */
async function attach(d: EngineDaemon, opId: string, secret: string) {
  const ws = await openWs(d.socket, `/1.0/operations/${opId}/websocket?secret=${secret}`);
  const chunks: Buffer[] = [];
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (isBinary) chunks.push(Buffer.from(data));
  });
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  return { ws, closed, text: () => Buffer.concat(chunks).toString('utf8') };
}

describe('exec in real containers', () => {
  let d: EngineDaemon;
  let home: string;
  const env = () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', LXD_DIR: d.dir, HOME: home, LXD_CONF: join(home, 'lxc-conf') });
  const lxc = (args: string[], input?: string) => runLxc(LXC, env(), args, input);
  const ok = async (args: string[], input?: string): Promise<string> => {
    const r = await lxc(args, input);
    if (r.code !== 0) throw new Error(`lxc ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  };

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'lodge-exec-home-'));
    d = await startEngineDaemon('exec');
    await runLxc(LXC, env(), ['remote', 'list']); // the first run writes the client's config (and a greeting)
    await importBusybox(d, 'bb');
    await d.instances.create({ name: 'c1', source: { type: 'image', alias: 'bb' } });
    await d.instances.start('c1');
  });
  afterAll(async () => {
    try {
      await d?.cleanup();
    } finally {
      if (home) rmSync(home, { recursive: true, force: true });
    }
  });

  it('lxc exec returns the command\'s exit code and its output', async () => {
    const r = await lxc(['exec', 'c1', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(r).toEqual({ code: 3, stdout: 'out\n', stderr: 'err\n' });
  });

  it('lxc exec passes stdin through to the command and ends it at EOF', async () => {
    expect(await ok(['exec', 'c1', '--', 'cat'], 'hi\nthere\n')).toBe('hi\nthere\n');
    // wc only answers once its stdin has ended
    expect((await ok(['exec', 'c1', '--', 'wc', '-c'], 'x'.repeat(100_000))).trim()).toBe('100000');
  });

  it('lxc exec gives LXD\'s default environment, the instance\'s environment.* keys and --env', async () => {
    await ok(['config', 'set', 'c1', 'environment.FROM_CONFIG', 'cfg']);
    // lxc passes its own TERM on
    const out = (await runLxc(LXC, { ...env(), TERM: 'xterm-lodge' }, ['exec', 'c1', '--env', 'FROM_FLAG=flag', '--', 'env'])).stdout;
    const vars = Object.fromEntries(out.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    expect(vars).toMatchObject({
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: '/root',
      USER: 'root',
      LANG: 'C.UTF-8',
      FROM_CONFIG: 'cfg',
      FROM_FLAG: 'flag',
      TERM: 'xterm-lodge',
    });
    // the working directory is $HOME
    expect((await ok(['exec', 'c1', '--', 'pwd'])).trim()).toBe('/root');
  });

  it('lxc exec with --cwd, --user and --group runs there and as that user', async () => {
    expect((await ok(['exec', 'c1', '--cwd', '/tmp', '--user', '1000', '--group', '1001', '--', 'sh', '-c', 'pwd; id -u; id -g'])).split('\n')).toEqual([
      '/tmp',
      '1000',
      '1001',
      '',
    ]);
  });

  it('an interactive lxc exec (under a terminal) runs the command on a pty', async () => {
    // script(1) gives lxc a terminal, so lxc asks for an interactive session
    const r = await new Promise<LxcResult>((resolve, reject) => {
      const child = spawn('script', ['-qec', `${LXC} exec c1 -- sh -c 'tty; exit 5'`, '/dev/null'], { env: env(), stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr: '' }));
    });
    expect(r.stdout).toMatch(/\/dev\/pts\/\d+/);
    expect(r.code).toBe(5);
  });

  it('a missing command is exit code 127, as in a shell', async () => {
    const r = await lxc(['exec', 'c1', '--', '/no/such/command']);
    expect(r.code).toBe(127);
  });

  it('exec over REST with websockets: stdin, stdout, stderr, control signal and metadata.return', async () => {
    const res = await d.api('POST', '/1.0/instances/c1/exec', {
      body: { command: ['sh', '-c', 'read line; echo "got $line"; echo e >&2; exec sleep 1000'], 'wait-for-websocket': true, interactive: false, environment: {} },
    });
    expect(res.status).toBe(202);
    const op = res.json.metadata;
    expect(op.class).toBe('websocket');
    expect(Object.keys(op.metadata.fds).sort()).toEqual(['0', '1', '2', 'control']);
    const control = await attach(d, op.id, op.metadata.fds.control);
    const stdin = await attach(d, op.id, op.metadata.fds['0']);
    const stdout = await attach(d, op.id, op.metadata.fds['1']);
    const stderr = await attach(d, op.id, op.metadata.fds['2']);
    stdin.ws.send(Buffer.from('hello\n'), { binary: true });
    // the sleep only ends through the signal sent on the control socket
    await new Promise<void>((resolve) => {
      const poll = () => (stdout.text().includes('got hello') ? resolve() : setTimeout(poll, 20));
      poll();
    });
    control.ws.send(JSON.stringify({ command: 'signal', signal: 15 }));
    const done = await d.api('GET', `/1.0/operations/${op.id}/wait?timeout=-1`);
    expect(done.json.metadata.status).toBe('Success');
    expect(done.json.metadata.metadata.return).toBe(128 + 15);
    await Promise.all([stdout.closed, stderr.closed]);
    expect(stdout.text()).toBe('got hello\n');
    expect(stderr.text()).toBe('e\n');
    control.ws.close();
    stdin.ws.close();
  });

  it('interactive exec over REST: one pty socket both ways, window-resize on the control socket', async () => {
    const res = await d.api('POST', '/1.0/instances/c1/exec', {
      // the shell reports its size at the start and on each SIGWINCH, until it reads a line
      body: { command: ['sh', '-c', 'trap "stty size" WINCH; stty size; while ! read x; do :; done; echo "read $x"; exit 4'], 'wait-for-websocket': true, interactive: true, width: 100, height: 30, environment: { TERM: 'xterm' } },
    });
    const op = res.json.metadata;
    expect(Object.keys(op.metadata.fds).sort()).toEqual(['0', 'control']);
    const control = await attach(d, op.id, op.metadata.fds.control);
    const pty = await attach(d, op.id, op.metadata.fds['0']);
    await new Promise<void>((resolve) => {
      const poll = () => (pty.text().includes('30 100') ? resolve() : setTimeout(poll, 20));
      poll();
    });
    control.ws.send(JSON.stringify({ command: 'window-resize', args: { width: '120', height: '40' } }));
    await new Promise<void>((resolve) => {
      const poll = () => (pty.text().includes('40 120') ? resolve() : setTimeout(poll, 20));
      poll();
    });
    pty.ws.send(Buffer.from('typed\r'), { binary: true });
    const done = await d.api('GET', `/1.0/operations/${op.id}/wait?timeout=-1`);
    expect(done.json.metadata.metadata.return).toBe(4);
    await pty.closed;
    // the terminal echoes what was typed and turns newlines into CRLF
    expect(pty.text().split('\r\n')).toEqual(['30 100', '40 120', 'typed', 'read typed', '']);
    control.ws.close();
  });

  it('closing the control socket kills the command (return 128 + SIGKILL)', async () => {
    const res = await d.api('POST', '/1.0/instances/c1/exec', { body: { command: ['sleep', '1000'], 'wait-for-websocket': true } });
    const op = res.json.metadata;
    const control = await attach(d, op.id, op.metadata.fds.control);
    for (const fd of ['0', '1', '2']) await attach(d, op.id, op.metadata.fds[fd]);
    // whether the command has started yet or not, it does not outlive the control socket
    control.ws.close();
    const done = await d.api('GET', `/1.0/operations/${op.id}/wait?timeout=-1`);
    expect(done.json.metadata.metadata.return).toBe(128 + 9);
  });

  it('an unknown websocket secret is refused', async () => {
    const res = await d.api('POST', '/1.0/instances/c1/exec', { body: { command: ['true'], 'wait-for-websocket': true } });
    const op = res.json.metadata;
    await expect(openWs(d.socket, `/1.0/operations/${op.id}/websocket?secret=wrong`)).rejects.toMatchObject({ status: 403 });
    // the operation still runs once the real sockets come
    for (const fd of ['0', '1', '2']) await attach(d, op.id, op.metadata.fds[fd]);
    const done = await d.api('GET', `/1.0/operations/${op.id}/wait?timeout=-1`);
    expect(done.json.metadata.metadata.return).toBe(0);
  });

  it('record-output writes the output under logs/exec-output and reports it in metadata.output', async () => {
    const res = await d.api('POST', '/1.0/containers/c1/exec', {
      body: { command: ['sh', '-c', 'echo recorded; echo oops >&2; exit 2'], 'record-output': true, 'wait-for-websocket': false },
    });
    expect(res.status).toBe(202);
    const done = await d.waitOp(res);
    expect(done.status).toBe('Success');
    const id = done.id;
    expect(done.metadata).toEqual({
      return: 2,
      output: { '1': `/1.0/instances/c1/logs/exec-output/exec_${id}.stdout`, '2': `/1.0/instances/c1/logs/exec-output/exec_${id}.stderr` },
    });
    const out = await d.api('GET', done.metadata.output['1']);
    expect([out.status, out.text]).toEqual([200, 'recorded\n']);
    expect((await d.api('GET', done.metadata.output['2'])).text).toBe('oops\n');
    expect((await d.api('DELETE', done.metadata.output['1'])).status).toBe(200);
    expect((await d.api('GET', done.metadata.output['1'])).status).toBe(404);
    expect(existsSync(join(d.dir, 'logs', 'c1', 'exec-output', `exec_${id}.stdout`))).toBe(false);
    expect((await d.api('GET', '/1.0/instances/c1/logs/exec-output/..%2F..%2Flxc.log')).status).toBe(400);
  });

  it('exec without websockets and without record-output still reports the return code', async () => {
    const done = await d.waitOp(await d.api('POST', '/1.0/instances/c1/exec', { body: { command: ['sh', '-c', 'exit 7'] } }));
    expect(done.metadata).toEqual({ return: 7 });
  });

  it('bad requests are refused with LXD\'s wording and start nothing', async () => {
    const bad = async (body: unknown) => {
      const r = await d.api('POST', '/1.0/instances/c1/exec', { body });
      return [r.status, r.json.error];
    };
    expect(await bad({ command: ['true'], 'record-output': true, 'wait-for-websocket': true })).toEqual([400, 'Cannot use "record-output" with "wait-for-websocket"']);
    expect(await bad({ command: [] })).toEqual([400, 'Invalid command: expected a non-empty list of strings']);
    expect(await bad({ command: ['true'], environment: { 'A=B': 'x' } })).toEqual([400, 'Invalid environment variable "A=B"']);
    const missing = await d.api('POST', '/1.0/instances/nope/exec', { body: { command: ['true'] } });
    expect([missing.status, missing.json.error]).toEqual([404, 'Instance not found']);
  });

  it('exec into a frozen or stopped instance is a clear 400 error (lxc shows it)', async () => {
    await d.instances.freeze('c1');
    try {
      const frozen = await d.api('POST', '/1.0/instances/c1/exec', { body: { command: ['true'] } });
      expect([frozen.status, frozen.json.error]).toEqual([400, 'Instance is frozen']);
    } finally {
      await d.instances.unfreeze('c1');
    }
    await d.instances.stop('c1', { force: true });
    const stopped = await d.api('POST', '/1.0/instances/c1/exec', { body: { command: ['true'] } });
    expect([stopped.status, stopped.json.error]).toEqual([400, 'Instance is not running']);
    const r = await lxc(['exec', 'c1', '--', 'true']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Instance is not running');
  });
});
