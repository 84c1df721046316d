/**
 * Instance devices as data: per device type, the options it takes, their validators, the options
 * it requires, and a check across options. Follows LXD's device semantics for the types Lodge
 * supports. What needs the host (a network that exists, an address inside its subnet, a parent
 * interface) is checked by the network library when the device is used.
 *
 * Error texts: "Device validation failed for "<name>": <reason>".
 */
import { InvalidArgumentError } from '@lodge/common';
import { parseBool, parseBytes, parseIntStrict } from './units';

export type DeviceConfig = Record<string, string>;
export type Devices = Record<string, DeviceConfig>;

type Check = (value: string) => void;

export interface DeviceTypeDef {
  readonly type: string;
  readonly description: string;
  /** option -> validator; undefined = any string map (validated elsewhere) */
  readonly options?: Readonly<Record<string, Check>>;
  /** a check over the whole device, after the options (missing/conflicting options) */
  readonly check?: (device: DeviceConfig) => void;
  /** can be added to / removed from / changed on a running instance */
  readonly hotplug: boolean;
}

/** Longest device name accepted (device names end up in volatile keys and interface/host paths). */
export const MAX_DEVICE_NAME_LENGTH = 64;

const bool: Check = (v) => void parseBool(v);
const uint: Check = (v) => void parseIntStrict(v, 0);
const bytes: Check = (v) => void parseBytes(v);

function absolutePath(what: string): Check {
  return (v) => {
    if (!v.startsWith('/')) throw new InvalidArgumentError(`${what} must be an absolute path, got "${v}"`);
    if (v.includes('\0')) throw new InvalidArgumentError(`${what} contains a NUL byte`);
    if (v.split('/').includes('..')) throw new InvalidArgumentError(`${what} must not contain "..", got "${v}"`);
  };
}

const mode: Check = (v) => {
  if (!/^0?[0-7]{3,4}$/.test(v)) throw new InvalidArgumentError(`mode must be octal such as "0660", got "${v}"`);
};

/** disk I/O limits: "10MB" (bytes per second) or "100iops" */
const ioLimit: Check = (v) => {
  if (/^\d+iops$/.test(v)) return;
  parseBytes(v);
};

const PROPAGATION = ['private', 'shared', 'slave', 'unbindable', 'rprivate', 'rshared', 'rslave', 'runbindable'];

const DISK_OPTIONS: Record<string, Check> = {
  path: (v) => {
    if (v !== '/') absolutePath('path')(v);
  },
  source: () => undefined, // checked with "pool" below: a host path, or a custom volume name
  pool: (v) => {
    if (v === '' || v.includes('/')) throw new InvalidArgumentError(`pool must be a storage pool name, got "${v}"`);
  },
  size: bytes,
  readonly: bool,
  shift: bool,
  recursive: bool,
  required: bool,
  optional: bool,
  propagation: (v) => {
    if (!PROPAGATION.includes(v)) throw new InvalidArgumentError(`propagation must be one of ${PROPAGATION.join(', ')}, got "${v}"`);
  },
  'limits.read': ioLimit,
  'limits.write': ioLimit,
  'limits.max': ioLimit,
};

const ROOT_DISK_OPTIONS = ['type', 'path', 'pool', 'size', 'limits.read', 'limits.write', 'limits.max'];

/** True for the root disk: a disk device mounted at "/". */
export function isRootDisk(device: Readonly<DeviceConfig>): boolean {
  return device.type === 'disk' && device.path === '/';
}

function checkDisk(d: DeviceConfig): void {
  if (!d.path) throw new InvalidArgumentError('Disk entry is missing the required "path" property');
  if (d.path === '/') {
    if (!d.pool) throw new InvalidArgumentError('Root disk entry must have a "pool" property set');
    const extra = Object.keys(d).filter((k) => d[k] !== '' && !ROOT_DISK_OPTIONS.includes(k));
    if (extra.length) throw new InvalidArgumentError(`Root disk entry may not have the ${extra.map((k) => `"${k}"`).join(', ')} property`);
    return;
  }
  if (!d.source) throw new InvalidArgumentError('Disk entry is missing the required "source" property');
  if (!d.pool) {
    absolutePath('source')(d.source);
  } else if (d.source.includes('/')) {
    throw new InvalidArgumentError(`source must be a custom volume name when "pool" is set, got "${d.source}"`);
  }
  if (d.size) throw new InvalidArgumentError('Only the root disk may have a "size" property');
  if (d.required && d.optional) {
    throw new InvalidArgumentError('Give either "required" or "optional" (its older spelling), not both');
  }
}

const UNIX_OPTIONS: Record<string, Check> = {
  path: absolutePath('path'),
  source: absolutePath('source'),
  major: uint,
  minor: uint,
  uid: uint,
  gid: uint,
  mode,
  required: bool,
};

function checkUnix(d: DeviceConfig): void {
  if (!d.path && !d.source) {
    throw new InvalidArgumentError('Unix device entry is missing the required "source" or "path" property');
  }
  if (!d.major !== !d.minor) {
    throw new InvalidArgumentError('Give both "major" and "minor", or neither');
  }
}

/** Kernel interface names: 1..15 bytes, no "/", ":" or whitespace, not "." or "..". */
export const validateInterfaceName: Check = (v) => {
  if (Buffer.byteLength(v) > 15) throw new InvalidArgumentError(`interface name "${v}" is longer than 15 bytes (the kernel's limit)`);
  // eslint-disable-next-line no-control-regex
  if (/[/:\s\x00-\x1f\x7f]/.test(v) || v === '.' || v === '..') throw new InvalidArgumentError(`"${v}" is not a valid interface name`);
};

const macAddress: Check = (v) => {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(v)) throw new InvalidArgumentError(`"${v}" is not a MAC address such as 00:16:3e:12:34:56`);
  if (parseInt(v.slice(0, 2), 16) & 1) throw new InvalidArgumentError(`"${v}" is a multicast MAC address`);
};

const mtu: Check = (v) => void parseIntStrict(v, 68, 65535);

const ipv4Address: Check = (v) => {
  const parts = v.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255)) {
    throw new InvalidArgumentError(`"${v}" is not an IPv4 address`);
  }
};

const networkName: Check = (v) => {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/.test(v)) throw new InvalidArgumentError(`"${v}" is not a network name`);
};

const NIC_TYPES = ['bridged', 'macvlan'];

const NIC_OPTIONS: Record<string, Check> = {
  network: networkName,
  nictype: (v) => {
    if (!NIC_TYPES.includes(v)) throw new InvalidArgumentError(`nictype "${v}" is not supported (supported: ${NIC_TYPES.join(', ')})`);
  },
  parent: validateInterfaceName,
  name: validateInterfaceName,
  host_name: validateInterfaceName,
  hwaddr: macAddress,
  mtu,
  'ipv4.address': ipv4Address,
  'boot.priority': uint,
};

function checkNic(d: DeviceConfig): void {
  if (d.network) {
    if (d.nictype || d.parent) throw new InvalidArgumentError('Give either "network" or "nictype" with "parent", not both');
    return;
  }
  if (!d.nictype) throw new InvalidArgumentError('A nic needs "network" (a managed network) or "nictype" with "parent"');
  if (!d.parent) throw new InvalidArgumentError(`A ${d.nictype} nic needs a "parent" interface`);
  if (d.nictype === 'macvlan' && d['ipv4.address']) throw new InvalidArgumentError('"ipv4.address" needs a managed network (a macvlan nic gets its address from the parent\'s network)');
}

/** A proxy end: "tcp:<address>:<port>" or "udp:<address>:<port>" (IPv6 addresses in brackets). */
export function parseProxyAddress(v: string): { protocol: 'tcp' | 'udp'; host: string; port: number } {
  const m = /^(tcp|udp):(\[[0-9a-fA-F:.]+\]|[0-9.]+|localhost):(\d{1,5})$/.exec(v);
  if (!m) throw new InvalidArgumentError(`"${v}" is not an address such as tcp:127.0.0.1:80 or udp:[::1]:53`);
  const port = Number(m[3]);
  if (port < 1 || port > 65535) throw new InvalidArgumentError(`port ${m[3]} is out of range 1-65535`);
  const host = m[2].startsWith('[') ? m[2].slice(1, -1) : m[2];
  if (!host.includes(':') && host !== 'localhost') ipv4Address(host);
  return { protocol: m[1] as 'tcp' | 'udp', host, port };
}

const PROXY_OPTIONS: Record<string, Check> = {
  listen: (v) => void parseProxyAddress(v),
  connect: (v) => void parseProxyAddress(v),
  bind: (v) => {
    if (v !== 'host') throw new InvalidArgumentError(`bind "${v}" is not supported (only "host": listen on the host, connect in the instance)`);
  },
  nat: (v) => {
    if (parseBool(v)) throw new InvalidArgumentError('nat mode is not supported');
  },
  proxy_protocol: (v) => {
    if (parseBool(v)) throw new InvalidArgumentError('proxy_protocol is not supported');
  },
};

function checkProxy(d: DeviceConfig): void {
  if (!d.listen) throw new InvalidArgumentError('A proxy needs a "listen" address');
  if (!d.connect) throw new InvalidArgumentError('A proxy needs a "connect" address');
  if (parseProxyAddress(d.listen).protocol !== parseProxyAddress(d.connect).protocol) {
    throw new InvalidArgumentError('"listen" and "connect" must use the same protocol');
  }
}

/** The device types, as data. */
export const DEVICE_TYPES: Readonly<Record<string, DeviceTypeDef>> = {
  disk: {
    type: 'disk',
    description: 'The root disk (path "/", pool, optional size) or a host path / custom volume mounted at "path"',
    options: DISK_OPTIONS,
    check: checkDisk,
    hotplug: false,
  },
  'unix-char': {
    type: 'unix-char',
    description: 'A character device node made in the instance',
    options: UNIX_OPTIONS,
    check: checkUnix,
    hotplug: false,
  },
  'unix-block': {
    type: 'unix-block',
    description: 'A block device node made in the instance',
    options: UNIX_OPTIONS,
    check: checkUnix,
    hotplug: false,
  },
  none: {
    type: 'none',
    description: 'Masks a device of the same name inherited from a profile',
    options: {},
    hotplug: false,
  },
  nic: {
    type: 'nic',
    description: 'A network interface: on a managed network, or a veth on a host bridge (bridged), or macvlan on a host interface',
    options: NIC_OPTIONS,
    check: checkNic,
    hotplug: true,
  },
  proxy: {
    type: 'proxy',
    description: 'Forwards connections to a host address ("listen") to an address inside the instance ("connect")',
    options: PROXY_OPTIONS,
    check: checkProxy,
    hotplug: true,
  },
};

/** LXD device types Lodge knows but does not support. */
export const UNSUPPORTED_DEVICE_TYPES: readonly string[] = ['gpu', 'usb', 'infiniband', 'unix-hotplug', 'tpm', 'pci'];

/** Device name rules: 1..64 characters, no "/" or "\", no whitespace or control characters, not "." or "..". */
export function validateDeviceName(name: string): void {
  if (typeof name !== 'string' || name.length === 0) throw new InvalidArgumentError('Device name cannot be empty');
  if (name.length > MAX_DEVICE_NAME_LENGTH) {
    throw new InvalidArgumentError(`Device name "${name}" is longer than ${MAX_DEVICE_NAME_LENGTH} characters`);
  }
  if (/[/\\]/.test(name)) throw new InvalidArgumentError(`Device name "${name}" cannot contain "/" or "\\"`);
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f]/.test(name)) throw new InvalidArgumentError(`Device name "${JSON.stringify(name).slice(1, -1)}" cannot contain whitespace or control characters`);
  if (name === '.' || name === '..') throw new InvalidArgumentError(`Device name "${name}" is not allowed`);
}

/** Validates one device: its name, that it is a string map with a known type, its options. */
export function validateDevice(name: string, device: unknown): asserts device is DeviceConfig {
  validateDeviceName(name);
  const failed = (why: string) => new InvalidArgumentError(`Device validation failed for "${name}": ${why}`);
  if (typeof device !== 'object' || device === null || Array.isArray(device)) throw failed('expected an object of string options');
  for (const [k, v] of Object.entries(device)) {
    if (typeof v !== 'string') throw failed(`option "${k}" must be a string, got ${v === null ? 'null' : typeof v}`);
  }
  const d = device as DeviceConfig;
  if (d.type === undefined || d.type === '') throw failed('Missing device type');
  const def = DEVICE_TYPES[d.type];
  if (!def) {
    if (UNSUPPORTED_DEVICE_TYPES.includes(d.type)) throw failed(`Device type "${d.type}" is not supported by Lodge`);
    throw failed(`Invalid device type "${d.type}"`);
  }
  if (!def.options) return;
  for (const [k, v] of Object.entries(d)) {
    if (k === 'type') continue;
    const check = def.options[k];
    if (!check) throw failed(`Invalid device option "${k}" for type "${d.type}"`);
    if (v === '') continue; // LXD: an empty option is an unset one
    try {
      check(v);
    } catch (err) {
      throw failed(`Invalid value "${v}" for option "${k}": ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  try {
    def.check?.(d);
  } catch (err) {
    throw failed(err instanceof Error ? err.message : String(err));
  }
}

/**
 * Validates a device map (an instance's, a profile's or an expanded one): every device, and at
 * most one root disk. Names in sorted order, so the first error is deterministic.
 */
export function validateDevices(devices: unknown): asserts devices is Devices {
  if (typeof devices !== 'object' || devices === null || Array.isArray(devices)) {
    throw new InvalidArgumentError('Invalid devices: expected an object of device name to device');
  }
  const roots: string[] = [];
  for (const name of Object.keys(devices).sort()) {
    const d = (devices as Record<string, unknown>)[name];
    validateDevice(name, d);
    if (isRootDisk(d)) roots.push(name);
  }
  if (roots.length > 1) throw new InvalidArgumentError(`More than one root disk device found: ${roots.map((r) => `"${r}"`).join(', ')}`);
}

/** The root disk of an (expanded) device map, or undefined when there is none. */
export function findRootDisk(devices: Readonly<Devices>): { name: string; device: DeviceConfig } | undefined {
  const found = Object.entries(devices).find(([, d]) => isRootDisk(d));
  return found && { name: found[0], device: found[1] };
}
