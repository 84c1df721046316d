/**
 * The instance configuration keys as data (DESIGN principle 6): one table maps every key, or key
 * pattern, to its validator, whether a change reaches a running instance, and whether the daemon
 * owns it. Semantics follow LXD's instance options; values are always strings.
 *
 * An empty value means "unset" (LXD does not store empty values), so every validator accepts "".
 */
import { InvalidArgumentError } from '@lodge/common';
import { parseBool, parseBytes, parseCpuSet, parseDurationUs, parseIntStrict } from './units';

export interface ConfigKeyDef {
  /** the key, or a pattern: "environment.*" (any rest), "volatile.<dev>.hwaddr" (<dev> = a device name) */
  readonly key: string;
  /** throws InvalidArgumentError naming the key and the value; `key` is the concrete key (for patterns) */
  readonly validate: (value: string, key?: string) => void;
  /** true: a change is applied to a running instance at once; false: it takes effect at the next start */
  readonly liveUpdate: boolean;
  /** volatile.*: written by the daemon; users may not set it (see userSettable) */
  readonly daemonOwned?: boolean;
  /** for a daemonOwned key: users may set it anyway (LXD lets users pick a nic's MAC this way) */
  readonly userSettable?: boolean;
  readonly description: string;
}

/** Minimum memory limit the runtime accepts (its MIN_MEMORY_BYTES; a value import would cross libs). */
export const MIN_MEMORY_LIMIT_BYTES = 4 * 1024 * 1024;
/** cfs quota/period bounds (kernel: period 1ms..1s, quota >= 1ms). */
export const MIN_CPU_PERIOD_US = 1000;
export const MAX_CPU_PERIOD_US = 1_000_000;
export const MIN_CPU_QUOTA_US = 1000;

// ---------------------------------------------------------------------------------------------
// value parsers with meaning (shared with limits.ts)

export type CpuLimit = { count: number } | { cpus: number[] };

/** limits.cpu: a bare integer is a CPU count ("2"); anything else is a CPU list ("0-1,3", "1-1"). */
export function parseCpuLimit(value: string): CpuLimit {
  if (/^\d+$/.test(value)) {
    const count = parseIntStrict(value, 1);
    return { count };
  }
  return { cpus: parseCpuSet(value) };
}

export type CpuAllowance = { percent: number } | { quotaUs: number; periodUs: number };

/** limits.cpu.allowance: "50%" (a soft share, 1..100) or "25ms/100ms" (a hard quota per period). */
export function parseCpuAllowance(value: string): CpuAllowance {
  const pct = /^(\d+)%$/.exec(value);
  if (pct) return { percent: parseIntStrict(pct[1], 1, 100) };
  const parts = value.split('/');
  if (parts.length !== 2) {
    throw new InvalidArgumentError(`expected a percentage such as "50%" or a quota such as "25ms/100ms"`);
  }
  const quotaUs = parseDurationUs(parts[0]);
  const periodUs = parseDurationUs(parts[1]);
  if (periodUs < MIN_CPU_PERIOD_US || periodUs > MAX_CPU_PERIOD_US) {
    throw new InvalidArgumentError(`the period must be between 1ms and 1s`);
  }
  if (quotaUs < MIN_CPU_QUOTA_US) throw new InvalidArgumentError(`the quota must be at least 1ms`);
  return { quotaUs, periodUs };
}

export type MemoryLimit = { percent: number } | { bytes: number };

/** limits.memory: a byte size ("512MB", "1GiB", "536870912") or a share of host memory ("50%"). */
export function parseMemoryLimit(value: string): MemoryLimit {
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(value);
  if (pct) {
    const percent = Number(pct[1]);
    if (percent <= 0 || percent > 100) throw new InvalidArgumentError(`a percentage must be above 0% and at most 100%`);
    return { percent };
  }
  const bytes = parseBytes(value);
  if (bytes < MIN_MEMORY_LIMIT_BYTES) throw new InvalidArgumentError(`the minimum is 4MiB`);
  return { bytes };
}

// ---------------------------------------------------------------------------------------------
// validators

type Check = (value: string, key: string) => void;

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The one wording for a bad value. */
export function invalidValue(key: string, value: string, why: string): InvalidArgumentError {
  return new InvalidArgumentError(`Invalid value "${value}" for config key "${key}": ${why}`);
}

function wrap(pattern: string, check: Check): (value: string, key?: string) => void {
  return (value, key = pattern) => {
    if (typeof value !== 'string') {
      throw new InvalidArgumentError(`Invalid value for config key "${key}": values must be strings, got ${typeof value}`);
    }
    if (value === '') return;
    try {
      check(value, key);
    } catch (err) {
      if (err instanceof InvalidArgumentError && err.message.startsWith('Invalid ')) throw err;
      throw invalidValue(key, value, reason(err));
    }
  };
}

const bool: Check = (v) => void parseBool(v);
const int = (min?: number, max?: number): Check => (v) => void parseIntStrict(v, min, max);
const free: Check = () => undefined;
const oneOf =
  (...allowed: string[]): Check =>
  (v) => {
    if (!allowed.includes(v)) throw new InvalidArgumentError(`must be one of ${allowed.map((a) => `"${a}"`).join(', ')}`);
  };

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const environment: Check = (_v, key) => {
  const name = key.slice('environment.'.length);
  if (!ENV_NAME.test(name)) {
    throw new InvalidArgumentError(
      `Invalid config key "${key}": "${name}" is not a valid environment variable name (letters, digits and "_", not starting with a digit)`,
    );
  }
};

const KERNEL_MODULE = /^[A-Za-z0-9_-]+$/;
const kernelModules: Check = (v) => {
  for (const item of v.split(',')) {
    const name = item.trim();
    if (!KERNEL_MODULE.test(name)) throw new InvalidArgumentError(`"${name}" is not a kernel module name (expected a comma-separated list)`);
  }
};

const uuid: Check = (v) => {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v)) throw new InvalidArgumentError('not a UUID');
};
const hwaddr: Check = (v) => {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(v)) throw new InvalidArgumentError('not a MAC address such as "00:16:3e:12:34:56"');
};
const ipv4Text: Check = (v) => {
  const parts = v.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255)) throw new InvalidArgumentError('not an IPv4 address');
};
const idmapJson: Check = (v) => {
  try {
    if (!Array.isArray(JSON.parse(v))) throw new Error();
  } catch {
    throw new InvalidArgumentError('not a JSON list of id map entries');
  }
};
const fingerprint: Check = (v) => {
  if (!/^[0-9a-f]{64}$/.test(v)) throw new InvalidArgumentError('not an image fingerprint (64 hex digits)');
};
const powerState: Check = (v) => {
  if (!/^[A-Z]+$/.test(v)) throw new InvalidArgumentError('not a power state such as "RUNNING" or "STOPPED"');
};

function unsupported(pattern: string, description: string): ConfigKeyDef {
  return {
    key: pattern,
    liveUpdate: false,
    description,
    validate: (value, key = pattern) => {
      if (value === '') return;
      throw new InvalidArgumentError(`${key} is not supported by Lodge`);
    },
  };
}

function def(key: string, check: Check, liveUpdate: boolean, description: string, extra: Partial<ConfigKeyDef> = {}): ConfigKeyDef {
  return { key, validate: wrap(key, check), liveUpdate, description, ...extra };
}

function volatile(key: string, check: Check, description: string, userSettable = false): ConfigKeyDef {
  return def(key, check, true, description, { daemonOwned: true, ...(userSettable ? { userSettable } : {}) });
}

/** The table. Exact keys win over patterns; patterns are tried in this order. */
export const INSTANCE_CONFIG_KEYS: readonly ConfigKeyDef[] = [
  // limits
  def('limits.cpu', (v) => void parseCpuLimit(v), true, 'A number of CPUs ("2", pinned by the daemon) or a CPU list to pin to ("0-1,3"; one CPU: "1-1")'),
  def('limits.cpu.allowance', (v) => void parseCpuAllowance(v), true, 'A soft CPU share ("50%") or a hard quota per period ("25ms/100ms")'),
  def('limits.cpu.priority', int(0, 10), true, 'CPU priority against other instances when overcommitted, 0 (lowest) to 10 (default)'),
  def('limits.memory', (v) => void parseMemoryLimit(v), true, 'Memory limit: a byte size ("512MB", "1GiB") or a share of host memory ("50%")'),
  def('limits.memory.enforce', oneOf('hard', 'soft'), true, '"hard" (default): never above limits.memory; "soft": only reclaimed down to it under host pressure'),
  def('limits.memory.swap', bool, true, 'Whether the instance may use swap (default true)'),
  def('limits.processes', int(1), true, 'Maximum number of processes in the instance'),
  // security
  def('security.privileged', bool, false, 'Run without a user namespace (root in the instance is root on the host)'),
  def('security.nesting', bool, false, 'Allow running containers inside the instance'),
  def('security.idmap.isolated', bool, false, 'Use an id map range of its own, not shared with other instances'),
  def('security.idmap.size', int(1), false, 'Size of the id map range to use'),
  def('security.idmap.base', int(0), false, 'First host id of the id map range (overrides the allocator)'),
  // boot
  def('boot.autostart', bool, true, 'Start the instance when the daemon starts (unset: restore the last state)'),
  def('boot.autostart.delay', int(0), true, 'Seconds to wait after starting this instance before starting the next'),
  def('boot.autostart.priority', int(), true, 'Start order at daemon start (highest first)'),
  def('boot.host_shutdown_timeout', int(0), true, 'Seconds to wait for a clean shutdown when the host shuts down, then kill'),
  def('boot.stop.priority', int(), true, 'Stop order at host shutdown (highest first)'),
  // misc
  def('linux.kernel_modules', kernelModules, true, 'Comma-separated kernel modules to load before start (recorded only; Lodge does not load modules)'),
  def('environment.*', environment, true, 'Environment variables for exec (applies to the next exec)'),
  def('user.*', free, true, 'Free-form user data (searchable; seen by the instance through devlxd)'),
  def('image.*', free, true, 'Properties copied from the image at creation'),
  unsupported('raw.*', 'Raw driver configuration (raw.lxc, raw.idmap, raw.seccomp, raw.apparmor): not supported'),
  // volatile: written by the daemon
  volatile('volatile.base_image', fingerprint, 'Fingerprint of the image the instance was created from'),
  volatile('volatile.uuid', uuid, 'Instance UUID'),
  volatile('volatile.uuid.generation', uuid, 'Instance generation UUID (changes on copy/restore)'),
  volatile('volatile.cloud-init.instance-id', free, 'cloud-init instance-id given through devlxd'),
  volatile('volatile.apply_template', free, 'Template trigger to apply at the next start ("create", "copy")', true),
  volatile('volatile.apply_quota', free, 'Root disk quota to apply at the next start'),
  volatile('volatile.idmap.base', int(0), 'First host id of the current id map'),
  volatile('volatile.idmap.current', idmapJson, 'Id map in use by the running instance'),
  volatile('volatile.idmap.next', idmapJson, 'Id map to use at the next start'),
  volatile('volatile.last_state.idmap', idmapJson, 'Id map the root filesystem is shifted to'),
  volatile('volatile.last_state.power', powerState, 'Power state when the daemon last saw the instance'),
  volatile('volatile.last_state.ready', bool, 'Whether the instance reported ready through devlxd'),
  volatile('volatile.<dev>.name', free, 'Interface name of a nic inside the instance'),
  volatile('volatile.<dev>.host_name', free, 'Host-side interface name of a nic'),
  volatile('volatile.<dev>.mtu', int(1), 'MTU of a nic'),
  volatile('volatile.<dev>.apply_quota', free, 'Disk quota to apply at the next start'),
  volatile('volatile.<dev>.last_state.hwaddr', hwaddr, 'Original MAC address of a passed-through interface'),
  volatile('volatile.<dev>.last_state.mtu', int(1), 'Original MTU of a passed-through interface'),
  volatile('volatile.<dev>.last_state.created', bool, 'Whether the daemon created the host interface'),
  volatile('volatile.<dev>.last_state.ipv4', ipv4Text, 'IPv4 address a nic held when the instance last stopped (asked for again at the next start)'),
  // after the last_state patterns: a <dev> may contain dots, so "eth0.last_state.hwaddr" must match those first
  volatile('volatile.<dev>.hwaddr', hwaddr, 'MAC address of a nic (users may set it before the first start)', true),
];

const EXACT = new Map<string, ConfigKeyDef>();
const PATTERNS: { re: RegExp; def: ConfigKeyDef }[] = [];
for (const d of INSTANCE_CONFIG_KEYS) {
  if (!d.key.includes('*') && !d.key.includes('<dev>')) {
    EXACT.set(d.key, d);
    continue;
  }
  const source = d.key
    .split(/(\*|<dev>)/)
    .map((part) => (part === '*' ? '.+' : part === '<dev>' ? '[^/\\s]+?' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  PATTERNS.push({ re: new RegExp(`^${source}$`, 's'), def: d });
}

/** The table entry for a concrete key, or undefined when the key is unknown. */
export function lookupConfigKey(key: string): ConfigKeyDef | undefined {
  return EXACT.get(key) ?? PATTERNS.find((p) => p.re.test(key))?.def;
}

/** Like lookupConfigKey, but throws LXD's "Unknown configuration key: <key>". */
export function configKeyDef(key: string): ConfigKeyDef {
  const d = lookupConfigKey(key);
  if (!d) throw new InvalidArgumentError(`Unknown configuration key: ${key}`);
  return d;
}

/** Validates one key and value (unknown key, bad value). Does not apply the volatile rules. */
export function validateConfigKey(key: string, value: string): void {
  configKeyDef(key).validate(value, key);
}

export interface ValidateConfigOptions {
  /** the daemon itself is writing: daemon-owned volatile keys are allowed */
  allowVolatile?: boolean;
  /** the config stored before this change: a daemon-owned key that keeps its stored value is
   *  accepted (clients PUT back the whole config they read, volatile keys included) */
  previous?: Readonly<Record<string, string>>;
  /** a profile's config: no volatile keys at all */
  profile?: boolean;
}

/**
 * Validates a whole config map: a plain object of string values, every key known, every value
 * valid; daemon-owned volatile keys only with allowVolatile (or unchanged from `previous`).
 * Throws on the first problem, keys in sorted order (deterministic messages).
 */
export function validateInstanceConfig(config: unknown, opts: ValidateConfigOptions = {}): asserts config is Record<string, string> {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new InvalidArgumentError('Invalid config: expected an object of string keys and string values');
  }
  for (const key of Object.keys(config).sort()) {
    const value = (config as Record<string, unknown>)[key];
    if (typeof value !== 'string') {
      throw new InvalidArgumentError(`Invalid value for config key "${key}": values must be strings, got ${value === null ? 'null' : typeof value}`);
    }
    const d = configKeyDef(key);
    if (d.daemonOwned) {
      if (opts.profile) throw new InvalidArgumentError(`Volatile keys are not allowed in profiles: ${key}`);
      const unchanged = opts.previous !== undefined && opts.previous[key] === value;
      if (!opts.allowVolatile && !d.userSettable && !unchanged) {
        throw new InvalidArgumentError(`Config key "${key}" is managed by the daemon and cannot be set`);
      }
    }
    d.validate(value, key);
  }
}

/** Drops keys with empty values (LXD's "unset"). */
export function compactConfig(config: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) if (v !== '') out[k] = v;
  return out;
}
