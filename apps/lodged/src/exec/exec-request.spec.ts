import { execCwd, execEnvironment, parseExecRequest } from './exec-request';

describe('exec requests', () => {
  it('reads LXD\'s InstanceExecPost with its defaults', () => {
    expect(parseExecRequest({ command: ['ls', '-l'] })).toEqual({
      command: ['ls', '-l'],
      environment: {},
      interactive: false,
      waitForWebsocket: false,
      recordOutput: false,
      width: 0,
      height: 0,
      user: 0,
      group: 0,
      cwd: '',
    });
    expect(
      parseExecRequest({ command: ['sh'], environment: { TERM: 'xterm' }, interactive: true, 'wait-for-websocket': true, width: 120, height: 40, user: 1000, group: 1000, cwd: '/tmp' }),
    ).toMatchObject({ interactive: true, waitForWebsocket: true, width: 120, height: 40, user: 1000, group: 1000, cwd: '/tmp', environment: { TERM: 'xterm' } });
  });

  it.each([
    [null, 'Invalid request body: expected a JSON object'],
    [{}, 'Invalid command: expected a non-empty list of strings'],
    [{ command: 'ls' }, 'Invalid command: expected a non-empty list of strings'],
    [{ command: ['a\0b'] }, 'Invalid command: arguments cannot contain NUL bytes'],
    [{ command: ['ls'], environment: { A: 1 } }, 'Invalid environment variable "A": expected a string value'],
    [{ command: ['ls'], environment: ['A=1'] }, 'Invalid environment: expected an object of strings'],
    [{ command: ['ls'], interactive: 'yes' }, 'Invalid "interactive": expected a boolean'],
    [{ command: ['ls'], user: -1 }, 'Invalid "user": expected an integer in 0..4294967294'],
    [{ command: ['ls'], width: 1.5 }, 'Invalid "width": expected an integer in 0..65535'],
    [{ command: ['ls'], cwd: 7 }, 'Invalid cwd: expected a string'],
    [{ command: ['ls'], 'record-output': true, interactive: true }, 'Cannot use "record-output" with "interactive"'],
  ])('refuses %j', (body, message) => {
    expect(() => parseExecRequest(body)).toThrow(message);
  });

  it('builds LXD\'s environment: instance keys, then the request\'s, then defaults for what is missing', () => {
    const env = execEnvironment({ 'environment.A': 'cfg', 'environment.B': 'cfg', 'limits.cpu': '1' }, { environment: { B: 'req' }, user: 0 });
    expect(env).toEqual({ A: 'cfg', B: 'req', PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', USER: 'root', LANG: 'C.UTF-8' });
    // HOME and USER only for root; given values always win
    expect(execEnvironment({}, { environment: { PATH: '/bin', LANG: 'en_US.UTF-8' }, user: 1000 })).toEqual({ PATH: '/bin', LANG: 'en_US.UTF-8' });
  });

  it('runs in the requested directory, else $HOME, else /', () => {
    expect([execCwd({ cwd: '/srv' }, { HOME: '/root' }), execCwd({ cwd: '' }, { HOME: '/home/u' }), execCwd({ cwd: '' }, {})]).toEqual(['/srv', '/home/u', '/']);
  });
});
