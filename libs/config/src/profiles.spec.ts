import { InvalidArgumentError } from '@lodge/common';
import { diffLiveUpdate, expandConfig, type ProfileLayer } from '@lodge/config';

const root = { type: 'disk', path: '/', pool: 'default' };
const eth0 = { type: 'nic', network: 'lodgebr0', name: 'eth0' };

const profiles: ProfileLayer[] = [
  { name: 'default', config: { 'limits.memory': '1GiB', 'boot.autostart': 'true' }, devices: { root, eth0 } },
  { name: 'big', config: { 'limits.memory': '4GiB', 'limits.cpu': '4' }, devices: { root: { ...root, size: '50GiB' } } },
  { name: 'no-net', config: {}, devices: { eth0: { type: 'none' } } },
  { name: 'unused', config: { 'limits.cpu': '99' }, devices: {} },
];

describe('expandConfig', () => {
  it('applies profiles in the instance order, the instance last', () => {
    const e = expandConfig(profiles, {
      profiles: ['default', 'big'],
      config: { 'limits.cpu': '2', 'user.x': 'y' },
      devices: {},
    });
    expect(e.expanded_config).toEqual({
      'boot.autostart': 'true',
      'limits.cpu': '2',
      'limits.memory': '4GiB',
      'user.x': 'y',
    });
    expect(e.expanded_devices).toEqual({ eth0, root: { ...root, size: '50GiB' } });
  });

  it('lets the order decide: the same profiles reversed give the other value', () => {
    const e = expandConfig(profiles, { profiles: ['big', 'default'], config: {}, devices: {} });
    expect(e.expanded_config['limits.memory']).toBe('1GiB');
    expect(e.expanded_devices.root).toEqual(root); // a later device replaces the earlier one whole: no size
  });

  it('masks an inherited device with a "none" device, in a profile or in the instance', () => {
    expect(expandConfig(profiles, { profiles: ['default', 'no-net'], config: {}, devices: {} }).expanded_devices).toEqual({ root });
    expect(
      expandConfig(profiles, { profiles: ['default'], config: {}, devices: { root: { type: 'none' } } }).expanded_devices,
    ).toEqual({ eth0 });
  });

  it('drops a "none" device that masks nothing, and lets a later layer add the device back', () => {
    expect(expandConfig(profiles, { profiles: ['no-net'], config: {}, devices: {} }).expanded_devices).toEqual({});
    const e = expandConfig(profiles, { profiles: ['default', 'no-net'], config: {}, devices: { eth0: { type: 'nic', network: 'other' } } });
    expect(e.expanded_devices.eth0).toEqual({ type: 'nic', network: 'other' });
  });

  it('ignores empty values (unset) and profiles the instance does not use', () => {
    const e = expandConfig(profiles, { profiles: ['default'], config: { 'limits.memory': '' }, devices: {} });
    expect(e.expanded_config).toEqual({ 'boot.autostart': 'true', 'limits.memory': '1GiB' });
  });

  it('does not share device objects with its inputs', () => {
    const e = expandConfig(profiles, { profiles: ['default'], config: {}, devices: {} });
    e.expanded_devices.root.size = '1GiB';
    expect(profiles[0].devices.root).toEqual(root);
  });

  it('refuses missing and repeated profiles', () => {
    expect(() => expandConfig(profiles, { profiles: ['nope'], config: {}, devices: {} })).toThrow(
      new InvalidArgumentError('Requested profile "nope" doesn\'t exist'),
    );
    expect(() => expandConfig(profiles, { profiles: ['default', 'default'], config: {}, devices: {} })).toThrow(
      'Duplicate profile found in request: "default"',
    );
  });
});

describe('diffLiveUpdate', () => {
  it('lists changed keys with whether each applies live', () => {
    const before = { expanded_config: { 'limits.memory': '1GiB', 'security.nesting': 'false', 'user.a': '1' }, expanded_devices: { root } };
    const after = { expanded_config: { 'limits.memory': '2GiB', 'security.nesting': 'true', 'limits.cpu': '2' }, expanded_devices: { root } };
    const d = diffLiveUpdate(before, after);
    expect(d.config).toEqual([
      { key: 'limits.cpu', new: '2', live: true },
      { key: 'limits.memory', old: '1GiB', new: '2GiB', live: true },
      { key: 'security.nesting', old: 'false', new: 'true', live: false },
      { key: 'user.a', old: '1', live: true },
    ]);
    expect(d.devices).toEqual([]);
    expect(d.allLive).toBe(false);
    expect(d.needsRestart).toEqual(['security.nesting']);
  });

  it('reports device additions, removals and changes; nics and proxies are hot-pluggable, disks not', () => {
    const d = diffLiveUpdate(
      { expanded_config: {}, expanded_devices: { root, eth0 } },
      { expanded_config: {}, expanded_devices: { root: { ...root, size: '20GiB' }, data: { type: 'disk', source: '/srv', path: '/srv' } } },
    );
    expect(d.devices.map((c) => [c.name, c.change, c.live])).toEqual([
      ['data', 'added', false],
      ['eth0', 'removed', true],
      ['root', 'changed', false],
    ]);
    expect(d.needsRestart).toEqual(['device:data', 'device:root']);
  });

  it('finds nothing when only key order or empty values differ', () => {
    const d = diffLiveUpdate(
      { expanded_config: { a: '1', 'limits.cpu': '2' }, expanded_devices: { eth0: { name: 'eth0', type: 'nic' } } },
      { expanded_config: { 'limits.cpu': '2', a: '1', 'limits.memory': '' }, expanded_devices: { eth0: { type: 'nic', name: 'eth0' } } },
    );
    expect(d).toEqual({ config: [], devices: [], allLive: true, needsRestart: [] });
  });

  it('treats a missing old state as everything added', () => {
    const d = diffLiveUpdate(undefined, { expanded_config: { 'limits.processes': '100' } });
    expect(d.config).toEqual([{ key: 'limits.processes', new: '100', live: true }]);
    expect(d.allLive).toBe(true);
  });
});
