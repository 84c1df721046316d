import { execRequestBody } from '../client/exec-session';
import { execOptions, ExecFlags, isInteractive } from './exec';

const flags = (f: Partial<ExecFlags> = {}): ExecFlags => ({ env: [], mode: 'auto', ...f });
const tty = { stdin: { isTTY: true }, stdout: { isTTY: true } } as any;
const piped = { stdin: { isTTY: false }, stdout: { isTTY: true } } as any;

describe('exec modes and request', () => {
  it('auto: a pty only when stdin and stdout are both terminals', () => {
    expect(isInteractive(flags(), tty)).toBe(true);
    expect(isInteractive(flags(), piped)).toBe(false);
  });

  it('-t, -T and --mode force the choice', () => {
    expect(isInteractive(flags({ forceInteractive: true }), piped)).toBe(true);
    expect(isInteractive(flags({ forceNoninteractive: true }), tty)).toBe(false);
    expect(isInteractive(flags({ mode: 'non-interactive' }), tty)).toBe(false);
    expect(isInteractive(flags({ mode: 'interactive' }), piped)).toBe(true);
    expect(() => isInteractive(flags({ forceInteractive: true, forceNoninteractive: true }), tty)).toThrow("You can't pass -t and -T at the same time");
    expect(() => isInteractive(flags({ mode: 'sometimes' }), tty)).toThrow('Invalid mode "sometimes"');
  });

  it('TERM goes along with a pty; --env pairs are added; ids must be numbers', () => {
    const o = execOptions(['sh'], flags({ env: ['A=1'], user: '1000', group: '1000', cwd: '/tmp' }), { ...tty, env: { TERM: 'xterm' } });
    expect(o).toEqual({ command: ['sh'], environment: { TERM: 'xterm', A: '1' }, interactive: true, cwd: '/tmp', user: 1000, group: 1000 });
    expect(execOptions(['sh'], flags(), { ...piped, env: { TERM: 'xterm' } }).environment).toEqual({});
    expect(() => execOptions(['sh'], flags({ user: 'root' }), { ...piped, env: {} })).toThrow('Invalid user "root": expected a number');
  });

  it('the body in LXD field names; size only with a pty; user/group/cwd only when given', () => {
    const base = { command: ['ls'], environment: {}, interactive: false };
    expect(execRequestBody(base, { width: 100, height: 30 })).toEqual({
      command: ['ls'],
      environment: {},
      interactive: false,
      'wait-for-websocket': true,
      'record-output': false,
    });
    expect(execRequestBody({ ...base, interactive: true, user: 0 }, { width: 100, height: 30 })).toEqual({
      command: ['ls'],
      environment: {},
      interactive: true,
      'wait-for-websocket': true,
      'record-output': false,
      width: 100,
      height: 30,
      user: 0,
    });
  });
});
