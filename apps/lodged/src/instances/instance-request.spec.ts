import type { InstanceEntity } from '@lodge/state';
import { parseCreate, parsePatch, parsePut, parseRename, parseStateChange } from './instance-request';

const row = {
  name: 'c1',
  project: 'default',
  architecture: 'x86_64',
  config: { 'user.a': '1', 'volatile.uuid': 'u' },
  devices: { eth0: { type: 'nic', nictype: 'p2p' } },
  profiles: ['default'],
  ephemeral: false,
  description: 'old',
  storagePool: 'default',
} as unknown as InstanceEntity;

describe('instance request bodies', () => {
  it('create: image source by alias or fingerprint, defaults, and a generated name when none is given', () => {
    expect(parseCreate({ name: 'c1', source: { type: 'image', alias: 'bb' } })).toMatchObject({ name: 'c1', source: { type: 'image', alias: 'bb' } });
    expect(parseCreate({ name: 'c1', source: { type: 'image', fingerprint: 'abc', alias: '' } }).source).toEqual({ type: 'image', fingerprint: 'abc' });
    expect(parseCreate({ name: 'c1' }).source).toEqual({ type: 'none' });
    expect(parseCreate({ source: { type: 'none' } }).name).toMatch(/^[a-z]+-[a-z]+-[0-9a-f]{4}$/);
    expect(parseCreate({ name: 'c1', type: 'container', profiles: null, config: null }).profiles).toBeUndefined();
  });

  it('create: refuses what Lodge cannot do and malformed fields, saying which', () => {
    expect(() => parseCreate([])).toThrow('Invalid request body: expected a JSON object');
    expect(() => parseCreate({ name: 'c1', type: 'virtual-machine' })).toThrow(/not supported/);
    expect(() => parseCreate({ name: 'c1', source: { type: 'image' } })).toThrow('The image source needs an alias or a fingerprint');
    expect(() => parseCreate({ name: 'c1', source: { type: 'image', alias: 'x', server: 'https://images' } })).toThrow(/remote servers/);
    expect(() => parseCreate({ name: 'c1', source: { type: 'copy' } })).toThrow('Source type "copy" is not supported yet');
    expect(() => parseCreate({ name: 'c1', source: { type: 'teleport' } })).toThrow('Unknown source type "teleport"');
    expect(() => parseCreate({ name: 'c1', profiles: 'default' })).toThrow('Invalid "profiles": expected a list of strings');
    expect(() => parseCreate({ name: 'c1', ephemeral: 'yes' })).toThrow('Invalid "ephemeral": expected true or false');
    expect(() => parseCreate({ name: 'c1', config: [] })).toThrow('Invalid "config": expected an object');
    expect(() => parseCreate({ name: 'c1', stateful: true })).toThrow(/Stateful/);
  });

  it('PUT replaces every writable field; PATCH merges config and devices', () => {
    expect(parsePut({ config: { 'user.b': '2' } }, row)).toEqual({ config: { 'user.b': '2' }, devices: {}, profiles: [], ephemeral: false, description: '' });
    expect(parsePatch({ config: { 'user.b': '2' }, devices: { d: { type: 'none' } }, description: 'new' }, row)).toEqual({
      config: { 'user.a': '1', 'volatile.uuid': 'u', 'user.b': '2' },
      devices: { eth0: { type: 'nic', nictype: 'p2p' }, d: { type: 'none' } },
      profiles: ['default'],
      ephemeral: false,
      description: 'new',
    });
    expect(() => parsePut({ architecture: 'aarch64' }, row)).toThrow(/cannot change/);
    expect(() => parsePut({ restore: 'snap0' }, row)).toThrow(/Snapshots/);
  });

  it('rename needs a name and refuses migration, other pools and projects', () => {
    expect(parseRename({ name: 'c2' }, row)).toBe('c2');
    expect(parseRename({ name: 'c2', pool: 'default', project: 'default' }, row)).toBe('c2');
    expect(() => parseRename({}, row)).toThrow('A new name is required');
    expect(() => parseRename({ name: 'c2', migration: true }, row)).toThrow(/Migration/);
    expect(() => parseRename({ name: 'c2', pool: 'fast' }, row)).toThrow(/storage pool/);
    expect(() => parseRename({ name: 'c2', project: 'p2' }, row)).toThrow(/project/);
  });

  it('state changes: the five actions; LXD\'s timeout -1 leaves the engine its own limit', () => {
    expect(parseStateChange({ action: 'stop', timeout: 30, force: false })).toEqual({ action: 'stop', force: false, timeoutMs: 30_000 });
    expect(parseStateChange({ action: 'stop', timeout: -1, force: true })).toEqual({ action: 'stop', force: true });
    for (const action of ['start', 'restart', 'freeze', 'unfreeze']) expect(parseStateChange({ action }).action).toBe(action);
    expect(() => parseStateChange({ action: 'explode' })).toThrow('Unknown action "explode"');
    expect(() => parseStateChange({})).toThrow('Unknown action ""');
    expect(() => parseStateChange({ action: 'stop', timeout: 1.5 })).toThrow(/timeout/);
    expect(() => parseStateChange({ action: 'start', stateful: true })).toThrow(/Stateful/);
  });
});
