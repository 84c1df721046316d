import { rejection } from '../test/rejection';
import { findRootDisk, validateDevice, validateDeviceName, validateDevices } from '@lodge/config';


describe('device names', () => {
  it.each(['root', 'eth0', 'data-1', 'my.disk', 'x'.repeat(64)])('accepts %j', (name) => {
    expect(() => validateDeviceName(name)).not.toThrow();
  });
  it.each<[string, string]>([
    ['', 'Device name cannot be empty'],
    ['a/b', 'Device name "a/b" cannot contain "/" or "\\"'],
    ['x'.repeat(65), `Device name "${'x'.repeat(65)}" is longer than 64 characters`],
    ['my disk', 'Device name "my disk" cannot contain whitespace or control characters'],
    ['..', 'Device name ".." is not allowed'],
  ])('rejects %j', (name, message) => {
    expect(rejection(() => validateDeviceName(name))).toBe(message);
  });
});

describe('disk devices', () => {
  it('accepts a root disk with a pool and an optional size', () => {
    expect(() => validateDevice('root', { type: 'disk', path: '/', pool: 'default' })).not.toThrow();
    expect(() => validateDevice('root', { type: 'disk', path: '/', pool: 'default', size: '10GiB' })).not.toThrow();
  });
  it('accepts host-path and custom-volume disks', () => {
    expect(() =>
      validateDevice('data', { type: 'disk', source: '/srv/data', path: '/data', readonly: 'true', shift: 'yes', recursive: 'false', optional: 'true' }),
    ).not.toThrow();
    expect(() => validateDevice('vol', { type: 'disk', pool: 'default', source: 'myvol', path: '/mnt/vol' })).not.toThrow();
  });
  it.each<[string, Record<string, string>, string]>([
    ['a root disk without a pool', { type: 'disk', path: '/' }, 'Device validation failed for "d": Root disk entry must have a "pool" property set'],
    ['a root disk with a source', { type: 'disk', path: '/', pool: 'p', source: '/x' }, 'Device validation failed for "d": Root disk entry may not have the "source" property'],
    ['a root disk with a bad size', { type: 'disk', path: '/', pool: 'p', size: '10G' }, 'Device validation failed for "d": Invalid value "10G" for option "size": invalid byte size "10G": unknown unit "G" (use B, kB, MB, GB, TB, PB, EB (powers of 1000) or KiB, MiB, GiB, TiB, PiB, EiB (powers of 1024))'],
    ['a disk without a path', { type: 'disk', source: '/srv' }, 'Device validation failed for "d": Disk entry is missing the required "path" property'],
    ['a disk without a source', { type: 'disk', path: '/data' }, 'Device validation failed for "d": Disk entry is missing the required "source" property'],
    ['a relative source', { type: 'disk', source: 'srv', path: '/data' }, 'Device validation failed for "d": source must be an absolute path, got "srv"'],
    ['a relative path', { type: 'disk', source: '/srv', path: 'data' }, 'Device validation failed for "d": Invalid value "data" for option "path": path must be an absolute path, got "data"'],
    ['a path with ..', { type: 'disk', source: '/srv', path: '/data/../etc' }, 'Device validation failed for "d": Invalid value "/data/../etc" for option "path": path must not contain "..", got "/data/../etc"'],
    ['a non-boolean readonly', { type: 'disk', source: '/srv', path: '/d', readonly: 'ro' }, 'Device validation failed for "d": Invalid value "ro" for option "readonly": "ro" is not a boolean (use true or false)'],
    ['a size on another disk', { type: 'disk', source: '/srv', path: '/d', size: '1GiB' }, 'Device validation failed for "d": Only the root disk may have a "size" property'],
    ['an unknown option', { type: 'disk', source: '/srv', path: '/d', foo: 'bar' }, 'Device validation failed for "d": Invalid device option "foo" for type "disk"'],
  ])('rejects %s', (_what, device, message) => {
    expect(rejection(() => validateDevice('d', device))).toBe(message);
  });
});

describe('unix-char and unix-block devices', () => {
  it('accepts a path or a source with numbers and a mode', () => {
    expect(() => validateDevice('fuse', { type: 'unix-char', path: '/dev/fuse' })).not.toThrow();
    expect(() => validateDevice('kvm', { type: 'unix-char', source: '/dev/kvm', uid: '0', gid: '108', mode: '0660', required: 'false' })).not.toThrow();
    expect(() => validateDevice('sdb', { type: 'unix-block', path: '/dev/sdb', major: '8', minor: '16' })).not.toThrow();
  });
  it('names what is missing or wrong', () => {
    expect(rejection(() => validateDevice('x', { type: 'unix-char', mode: '0600' }))).toBe(
      'Device validation failed for "x": Unix device entry is missing the required "source" or "path" property',
    );
    expect(rejection(() => validateDevice('x', { type: 'unix-block', path: '/dev/x', major: '8' }))).toBe(
      'Device validation failed for "x": Give both "major" and "minor", or neither',
    );
    expect(rejection(() => validateDevice('x', { type: 'unix-char', path: '/dev/x', mode: 'rw' }))).toBe(
      'Device validation failed for "x": Invalid value "rw" for option "mode": mode must be octal such as "0660", got "rw"',
    );
    expect(rejection(() => validateDevice('x', { type: 'unix-char', path: '/dev/x', uid: '-1' }))).toBe(
      'Device validation failed for "x": Invalid value "-1" for option "uid": -1 is below the minimum of 0',
    );
  });
});

describe('other types', () => {
  it('none takes no options', () => {
    expect(() => validateDevice('eth0', { type: 'none' })).not.toThrow();
    expect(rejection(() => validateDevice('eth0', { type: 'none', path: '/' }))).toBe(
      'Device validation failed for "eth0": Invalid device option "path" for type "none"',
    );
  });
  it('nic and proxy pass through as string maps', () => {
    expect(() => validateDevice('eth0', { type: 'nic', nictype: 'bridged', parent: 'lodgebr0', anything: 'goes' })).not.toThrow();
    expect(() => validateDevice('web', { type: 'proxy', listen: 'tcp:0.0.0.0:80', connect: 'tcp:127.0.0.1:80' })).not.toThrow();
    expect(rejection(() => validateDevice('eth0', { type: 'nic', mtu: 1500 }))).toBe(
      'Device validation failed for "eth0": option "mtu" must be a string, got number',
    );
  });
  it('requires a type, and a known one', () => {
    expect(rejection(() => validateDevice('x', { path: '/' }))).toBe('Device validation failed for "x": Missing device type');
    expect(rejection(() => validateDevice('x', { type: 'floppy' }))).toBe('Device validation failed for "x": Invalid device type "floppy"');
    expect(rejection(() => validateDevice('x', { type: 'gpu' }))).toBe('Device validation failed for "x": Device type "gpu" is not supported by Lodge');
  });
});

describe('validateDevices', () => {
  it('accepts a profile-like map and finds its root disk', () => {
    const devices = {
      root: { type: 'disk', path: '/', pool: 'default' },
      eth0: { type: 'nic', network: 'lodgebr0', name: 'eth0' },
    };
    expect(() => validateDevices(devices)).not.toThrow();
    expect(findRootDisk(devices)).toEqual({ name: 'root', device: devices.root });
    expect(findRootDisk({})).toBeUndefined();
  });
  it('refuses two root disks', () => {
    expect(
      rejection(() =>
        validateDevices({ root: { type: 'disk', path: '/', pool: 'a' }, root2: { type: 'disk', path: '/', pool: 'b' } }),
      ),
    ).toBe('More than one root disk device found: "root", "root2"');
  });
  it('refuses a non-object', () => {
    expect(rejection(() => validateDevices(null))).toBe('Invalid devices: expected an object of device name to device');
  });
});
