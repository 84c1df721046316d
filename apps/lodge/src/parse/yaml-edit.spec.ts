import { fromYaml, INSTANCE_WRITABLE, pick, PROFILE_WRITABLE, toYaml } from './yaml-edit';

const instance = {
  architecture: 'x86_64',
  config: { 'limits.memory': '64MiB', 'security.privileged': 'true', 'user.n': '512' },
  devices: { root: { path: '/', pool: 'default', type: 'disk' } },
  ephemeral: false,
  profiles: ['default'],
  stateful: false,
  description: 'a: tricky # value',
  name: 'c1',
  status: 'Running',
};

describe('YAML for show and edit', () => {
  it('shows only the writable fields, and reads back the same PUT body', () => {
    const text = toYaml(pick(instance, INSTANCE_WRITABLE));
    expect(text).not.toContain('status');
    expect(text).not.toContain('name: c1');
    expect(fromYaml(text, INSTANCE_WRITABLE)).toEqual(pick(instance, INSTANCE_WRITABLE));
  });

  it('turns YAML booleans and numbers in config back into strings', () => {
    const body = fromYaml('config:\n  security.privileged: true\n  limits.cpu: 2\n  user.empty:\ndevices: {}\n', PROFILE_WRITABLE);
    expect(body).toEqual({ config: { 'security.privileged': 'true', 'limits.cpu': '2', 'user.empty': '' }, devices: {} });
  });

  it('drops fields a PUT does not take', () => {
    expect(fromYaml('name: other\nused_by: [x]\ndescription: d\n', PROFILE_WRITABLE)).toEqual({ description: 'd' });
  });

  it('refuses malformed documents with a clear message', () => {
    expect(() => fromYaml('config: [a, b]\n', INSTANCE_WRITABLE)).toThrow('Invalid YAML: config must be a mapping');
    expect(() => fromYaml('- a\n- b\n', INSTANCE_WRITABLE)).toThrow('Invalid YAML: expected a mapping');
    expect(() => fromYaml('config: {a: 1\n', INSTANCE_WRITABLE)).toThrow(/^Invalid YAML: /);
    expect(() => fromYaml('devices:\n  eth0: [1]\n', INSTANCE_WRITABLE)).toThrow('Invalid YAML: devices.eth0 must be a mapping');
    expect(() => fromYaml('config:\n  a: {b: c}\n', INSTANCE_WRITABLE)).toThrow('Invalid YAML: config.a must be a plain value');
    expect(() => fromYaml('profiles: default\n', INSTANCE_WRITABLE)).toThrow('Invalid YAML: profiles must be a list of names');
  });
});
