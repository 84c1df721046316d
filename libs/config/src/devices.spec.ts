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
  it('nic: a managed network, or nictype with parent; names, MACs, MTUs and addresses checked', () => {
    expect(() => validateDevice('eth0', { type: 'nic', network: 'lodgebr0', 'ipv4.address': '10.0.3.7', hwaddr: '00:16:3e:01:02:03', mtu: '1400' })).not.toThrow();
    expect(() => validateDevice('eth1', { type: 'nic', nictype: 'bridged', parent: 'br0', name: 'eth1', host_name: 'vethabc' })).not.toThrow();
    expect(() => validateDevice('eth2', { type: 'nic', nictype: 'macvlan', parent: 'enp0s3' })).not.toThrow();
    const cases: [Record<string, unknown>, string][] = [
      [{ type: 'nic', mtu: 1500 }, 'option "mtu" must be a string, got number'],
      [{ type: 'nic' }, 'A nic needs "network" (a managed network) or "nictype" with "parent"'],
      [{ type: 'nic', nictype: 'bridged' }, 'A bridged nic needs a "parent" interface'],
      [{ type: 'nic', network: 'n', parent: 'br0' }, 'Give either "network" or "nictype" with "parent", not both'],
      [{ type: 'nic', nictype: 'p2p', parent: 'x' }, 'Invalid value "p2p" for option "nictype": nictype "p2p" is not supported (supported: bridged, macvlan)'],
      [{ type: 'nic', network: 'n', name: 'a-very-long-name0' }, 'Invalid value "a-very-long-name0" for option "name": interface name "a-very-long-name0" is longer than 15 bytes (the kernel\'s limit)'],
      [{ type: 'nic', network: 'n', hwaddr: '01:16:3e:00:00:01' }, 'Invalid value "01:16:3e:00:00:01" for option "hwaddr": "01:16:3e:00:00:01" is a multicast MAC address'],
      [{ type: 'nic', network: 'n', 'ipv4.address': '10.0.3.300' }, 'Invalid value "10.0.3.300" for option "ipv4.address": "10.0.3.300" is not an IPv4 address'],
      [{ type: 'nic', network: 'n', mtu: '20' }, 'Invalid value "20" for option "mtu": 20 is not between 68 and 65535'],
      [{ type: 'nic', network: 'n', vlan: '5' }, 'Invalid device option "vlan" for type "nic"'],
    ];
    for (const [device, why] of cases) expect(rejection(() => validateDevice('eth0', device))).toBe(`Device validation failed for "eth0": ${why}`);
  });
  it('proxy: listen and connect addresses of one protocol', () => {
    expect(() => validateDevice('web', { type: 'proxy', listen: 'tcp:127.0.0.1:8080', connect: 'tcp:127.0.0.1:80', bind: 'host' })).not.toThrow();
    expect(() => validateDevice('dns', { type: 'proxy', listen: 'udp:[::1]:5353', connect: 'udp:127.0.0.1:53' })).not.toThrow();
    const cases: [Record<string, string>, string][] = [
      [{ type: 'proxy', listen: 'tcp:127.0.0.1:80' }, 'A proxy needs a "connect" address'],
      [{ type: 'proxy', listen: 'tcp:127.0.0.1:80', connect: 'udp:127.0.0.1:80' }, '"listen" and "connect" must use the same protocol'],
      [{ type: 'proxy', listen: 'tcp:127.0.0.1:99999', connect: 'tcp:127.0.0.1:80' }, 'Invalid value "tcp:127.0.0.1:99999" for option "listen": port 99999 is out of range 1-65535'],
      [{ type: 'proxy', listen: 'unix:/run/x.sock', connect: 'tcp:127.0.0.1:80' }, 'Invalid value "unix:/run/x.sock" for option "listen": "unix:/run/x.sock" is not an address such as tcp:127.0.0.1:80 or udp:[::1]:53'],
      [{ type: 'proxy', listen: 'tcp:127.0.0.1:80', connect: 'tcp:127.0.0.1:80', bind: 'instance' }, 'Invalid value "instance" for option "bind": bind "instance" is not supported (only "host": listen on the host, connect in the instance)'],
    ];
    for (const [device, why] of cases) expect(rejection(() => validateDevice('p', device))).toBe(`Device validation failed for "p": ${why}`);
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
