import { collect, createBody, parseTimeout, stateBody } from './instance-requests';

describe('instance request bodies', () => {
  it('create: config from -c pairs, profiles only when given', () => {
    expect(createBody('c1', { type: 'image', fingerprint: 'abc' }, { config: ['limits.cpu=2', 'user.x=a=b'], profile: [] })).toEqual({
      name: 'c1',
      type: 'container',
      source: { type: 'image', fingerprint: 'abc' },
      config: { 'limits.cpu': '2', 'user.x': 'a=b' },
      devices: {},
      ephemeral: false,
    });
    const withProfiles = createBody(undefined, { type: 'image', alias: 'bb' }, { config: [], profile: ['default', 'web'], ephemeral: true });
    expect(withProfiles).toEqual({ type: 'container', source: { type: 'image', alias: 'bb' }, config: {}, devices: {}, ephemeral: true, profiles: ['default', 'web'] });
    expect('name' in withProfiles).toBe(false);
  });

  it('state: timeout -1 unless given, force only when asked', () => {
    expect(stateBody('start')).toEqual({ action: 'start', timeout: -1, force: false, stateful: false });
    expect(stateBody('stop', { force: true, timeout: 30 })).toEqual({ action: 'stop', timeout: 30, force: true, stateful: false });
  });

  it('timeouts are whole seconds', () => {
    expect(parseTimeout('30')).toBe(30);
    expect(parseTimeout('-1')).toBe(-1);
    expect(() => parseTimeout('1.5')).toThrow('Invalid timeout "1.5": expected seconds');
    expect(() => parseTimeout('soon')).toThrow('Invalid timeout "soon"');
  });

  it('repeatable options collect in order', () => {
    expect(collect('b', collect('a', []))).toEqual(['a', 'b']);
  });
});
