/** Command-line parsing of the whole program; every case here is refused before any connection. */
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { buildProgram, run } from './program';

function fakeIo() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => (out += c));
  stderr.on('data', (c) => (err += c));
  const io = { stdin: new PassThrough(), stdout, stderr, env: { LODGE_DIR: '/nonexistent-lodge-dir', LODGE_CONF: '/nonexistent-lodge-conf' }, signals: new EventEmitter() };
  return { io, out: () => out, err: () => err };
}

/** Parses argv with the exec action replaced, to see what it would run. */
async function parsedExec(argv: string[]): Promise<{ name: string; command: string[]; env: string[] }> {
  const { io } = fakeIo();
  const { program } = buildProgram(io);
  let seen: any;
  program.commands.find((c) => c.name() === 'exec')!.action((name: string, command: string[], f: { env: string[] }) => {
    seen = { name, command, env: f.env };
  });
  await program.parseAsync(argv, { from: 'user' });
  return seen;
}

describe('lodge command line', () => {
  it('--help lists the command groups and exits 0', async () => {
    const f = fakeIo();
    expect(await run(['--help'], f.io)).toBe(0);
    for (const cmd of ['launch', 'init', 'start', 'stop', 'restart', 'pause', 'delete', 'list', 'info', 'exec', 'file', 'config', 'profile', 'image', 'remote']) {
      expect(f.out()).toMatch(new RegExp(`^  ${cmd}\\b`, 'm'));
    }
  });

  it('exec: options before --, the command after it untouched', async () => {
    expect(await parsedExec(['exec', '--env', 'A=1', 'c1', '--', 'sh', '-c', 'echo --env'])).toEqual({ name: 'c1', command: ['sh', '-c', 'echo --env'], env: ['A=1'] });
    expect(await parsedExec(['exec', 'srv:c1', 'ls', '/'])).toEqual({ name: 'srv:c1', command: ['ls', '/'], env: [] });
  });

  it('usage errors exit 1 with commander wording, before any connection', async () => {
    const missing = fakeIo();
    expect(await run(['exec', 'c1'], missing.io)).toBe(1);
    expect(missing.err()).toContain("error: missing required argument 'command'");
    const unknown = fakeIo();
    expect(await run(['exec', 'c1', 'ls', '-l'], unknown.io)).toBe(1);
    expect(unknown.err()).toContain("error: unknown option '-l'");
  });

  it('bad option values are refused with a clear message', async () => {
    const format = fakeIo();
    expect(await run(['list', '--format', 'xml'], format.io)).toBe(1);
    expect(format.err()).toContain('Invalid format "xml": expected one of table, json, yaml, csv');
    const timeout = fakeIo();
    expect(await run(['stop', 'c1', '--timeout', 'soon'], timeout.io)).toBe(1);
    expect(timeout.err()).toContain('Invalid timeout "soon": expected seconds');
    const mode = fakeIo();
    expect(await run(['file', 'push', 'a', 'c1/tmp/', '--mode', 'rwx'], mode.io)).toBe(1);
    expect(mode.err()).toContain('Invalid mode "rwx"');
  });

  it('an unknown remote is named in the error', async () => {
    const f = fakeIo();
    expect(await run(['list', 'nowhere:'], f.io)).toBe(1);
    expect(f.err()).toBe("Error: Remote nowhere doesn't exist\n");
  });
});
