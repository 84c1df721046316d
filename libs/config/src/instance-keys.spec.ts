import { rejection } from '../test/rejection';
import { INSTANCE_CONFIG_KEYS, lookupConfigKey, validateConfigKey, validateInstanceConfig, compactConfig } from '@lodge/config';


describe('the key table', () => {
  it('has one entry per key or pattern, each with a description', () => {
    const keys = INSTANCE_CONFIG_KEYS.map((d) => d.key);
    expect(new Set(keys).size).toBe(keys.length);
    for (const d of INSTANCE_CONFIG_KEYS) expect(d.description.length).toBeGreaterThan(10);
  });
  it('finds exact keys before patterns and resolves device patterns', () => {
    expect(lookupConfigKey('limits.memory')?.key).toBe('limits.memory');
    expect(lookupConfigKey('environment.http_proxy')?.key).toBe('environment.*');
    expect(lookupConfigKey('volatile.eth0.hwaddr')?.key).toBe('volatile.<dev>.hwaddr');
    expect(lookupConfigKey('volatile.eth0.last_state.hwaddr')?.key).toBe('volatile.<dev>.last_state.hwaddr');
    expect(lookupConfigKey('volatile.idmap.next')?.key).toBe('volatile.idmap.next');
    expect(lookupConfigKey('limits.memory.hugepages')).toBeUndefined();
  });
  it('marks what reaches a running instance', () => {
    const live = (k: string) => lookupConfigKey(k)?.liveUpdate;
    expect(live('limits.memory')).toBe(true);
    expect(live('limits.cpu')).toBe(true);
    expect(live('limits.processes')).toBe(true);
    expect(live('environment.FOO')).toBe(true);
    expect(live('security.privileged')).toBe(false);
    expect(live('security.idmap.isolated')).toBe(false);
    expect(lookupConfigKey('volatile.uuid')?.daemonOwned).toBe(true);
  });
});

describe('validateConfigKey: accepted values', () => {
  it.each<[string, string]>([
    ['limits.cpu', '2'],
    ['limits.cpu', '0-1,3'],
    ['limits.cpu', '1-1'],
    ['limits.cpu.allowance', '50%'],
    ['limits.cpu.allowance', '100%'],
    ['limits.cpu.allowance', '25ms/100ms'],
    ['limits.cpu.allowance', '200ms/100ms'],
    ['limits.cpu.priority', '0'],
    ['limits.cpu.priority', '10'],
    ['limits.memory', '512MB'],
    ['limits.memory', '1GiB'],
    ['limits.memory', '50%'],
    ['limits.memory', '12.5%'],
    ['limits.memory', '536870912'],
    ['limits.memory.enforce', 'soft'],
    ['limits.memory.swap', 'false'],
    ['limits.processes', '500'],
    ['security.privileged', 'true'],
    ['security.nesting', 'True'],
    ['security.idmap.isolated', 'on'],
    ['security.idmap.size', '65536'],
    ['security.idmap.base', '1000000'],
    ['boot.autostart', 'yes'],
    ['boot.autostart.delay', '5'],
    ['boot.autostart.priority', '-1'],
    ['boot.host_shutdown_timeout', '30'],
    ['boot.stop.priority', '3'],
    ['environment.http_proxy', 'http://proxy:3128'],
    ['environment._X1', ''],
    ['user.user-data', '#cloud-config\n{}'],
    ['image.os', 'Debian'],
    ['linux.kernel_modules', 'overlay, nf_nat,br_netfilter'],
    ['volatile.eth0.hwaddr', '00:16:3e:12:34:56'],
    ['limits.memory', ''],
  ])('%s=%j', (key, value) => {
    expect(() => validateConfigKey(key, value)).not.toThrow();
  });
});

describe('validateConfigKey: rejected values name the key and the value', () => {
  it.each<[string, string, string]>([
    ['limits.cpu', '0', 'Invalid value "0" for config key "limits.cpu": 0 is below the minimum of 1'],
    ['limits.cpu', 'two', 'Invalid value "two" for config key "limits.cpu": "two" is not a CPU count or a CPU list such as "0-1,3"'],
    ['limits.cpu.allowance', '150%', 'Invalid value "150%" for config key "limits.cpu.allowance": 150 is not between 1 and 100'],
    ['limits.cpu.allowance', '25ms', 'Invalid value "25ms" for config key "limits.cpu.allowance": expected a percentage such as "50%" or a quota such as "25ms/100ms"'],
    ['limits.cpu.allowance', '25ms/2s', 'Invalid value "25ms/2s" for config key "limits.cpu.allowance": the period must be between 1ms and 1s'],
    ['limits.cpu.allowance', '500us/100ms', 'Invalid value "500us/100ms" for config key "limits.cpu.allowance": the quota must be at least 1ms'],
    ['limits.cpu.priority', '11', 'Invalid value "11" for config key "limits.cpu.priority": 11 is not between 0 and 10'],
    ['limits.memory', '1G', 'Invalid value "1G" for config key "limits.memory": invalid byte size "1G": unknown unit "G" (use B, kB, MB, GB, TB, PB, EB (powers of 1000) or KiB, MiB, GiB, TiB, PiB, EiB (powers of 1024))'],
    ['limits.memory', '150%', 'Invalid value "150%" for config key "limits.memory": a percentage must be above 0% and at most 100%'],
    ['limits.memory', '1MB', 'Invalid value "1MB" for config key "limits.memory": the minimum is 4MiB'],
    ['limits.memory.enforce', 'strict', 'Invalid value "strict" for config key "limits.memory.enforce": must be one of "hard", "soft"'],
    ['limits.memory.swap', 'maybe', 'Invalid value "maybe" for config key "limits.memory.swap": "maybe" is not a boolean (use true or false)'],
    ['limits.processes', '0', 'Invalid value "0" for config key "limits.processes": 0 is below the minimum of 1'],
    ['security.privileged', 'y', 'Invalid value "y" for config key "security.privileged": "y" is not a boolean (use true or false)'],
    ['boot.autostart.delay', '1.5', 'Invalid value "1.5" for config key "boot.autostart.delay": "1.5" is not an integer'],
    ['linux.kernel_modules', 'overlay;rm', 'Invalid value "overlay;rm" for config key "linux.kernel_modules": "overlay;rm" is not a kernel module name (expected a comma-separated list)'],
    ['environment.1BAD', 'x', 'Invalid config key "environment.1BAD": "1BAD" is not a valid environment variable name (letters, digits and "_", not starting with a digit)'],
    ['environment.A-B', 'x', 'Invalid config key "environment.A-B": "A-B" is not a valid environment variable name (letters, digits and "_", not starting with a digit)'],
    ['volatile.eth0.hwaddr', 'zz', 'Invalid value "zz" for config key "volatile.eth0.hwaddr": not a MAC address such as "00:16:3e:12:34:56"'],
  ])('%s=%j', (key, value, message) => {
    expect(rejection(() => validateConfigKey(key, value))).toBe(message);
  });

  it('rejects raw.lxc (and the other raw.* keys) as unsupported, not unknown', () => {
    expect(rejection(() => validateConfigKey('raw.lxc', 'lxc.aa_profile=unconfined'))).toBe('raw.lxc is not supported by Lodge');
    expect(rejection(() => validateConfigKey('raw.idmap', 'both 1000 1000'))).toBe('raw.idmap is not supported by Lodge');
  });

  it('rejects unknown keys with LXD wording', () => {
    expect(rejection(() => validateConfigKey('limits.memroy', '1GB'))).toBe('Unknown configuration key: limits.memroy');
    expect(rejection(() => validateConfigKey('volatile.foo', 'x'))).toBe('Unknown configuration key: volatile.foo');
    expect(rejection(() => validateConfigKey('environment', 'x'))).toBe('Unknown configuration key: environment');
  });
});

describe('validateInstanceConfig', () => {
  it('accepts a typical Juju / nova config', () => {
    expect(() =>
      validateInstanceConfig({
        'limits.cpu': '2',
        'limits.memory': '2048MiB',
        'security.nesting': 'True',
        'boot.autostart': 'true',
        'user.user-data': '#cloud-config',
        'user.juju-model': 'abc',
      }),
    ).not.toThrow();
  });

  it('requires string values', () => {
    expect(rejection(() => validateInstanceConfig({ 'limits.cpu': 2 }))).toBe(
      'Invalid value for config key "limits.cpu": values must be strings, got number',
    );
    expect(rejection(() => validateInstanceConfig({ 'boot.autostart': true }))).toBe(
      'Invalid value for config key "boot.autostart": values must be strings, got boolean',
    );
    expect(rejection(() => validateInstanceConfig({ 'user.x': null }))).toBe(
      'Invalid value for config key "user.x": values must be strings, got null',
    );
    expect(rejection(() => validateInstanceConfig(['a']))).toBe('Invalid config: expected an object of string keys and string values');
  });

  it('reports the first bad key in sorted order', () => {
    expect(rejection(() => validateInstanceConfig({ 'zz.unknown': 'x', 'limits.memory': 'lots' }))).toMatch(/^Invalid value "lots" for config key "limits.memory"/);
  });

  it('keeps daemon-owned volatile keys for the daemon', () => {
    expect(rejection(() => validateInstanceConfig({ 'volatile.uuid': '0b9a9f3c-8f7e-4a4e-9d55-2c5f1c0c1e11' }))).toBe(
      'Config key "volatile.uuid" is managed by the daemon and cannot be set',
    );
    expect(() =>
      validateInstanceConfig({ 'volatile.uuid': '0b9a9f3c-8f7e-4a4e-9d55-2c5f1c0c1e11' }, { allowVolatile: true }),
    ).not.toThrow();
    // a user may pick a nic's MAC
    expect(() => validateInstanceConfig({ 'volatile.eth0.hwaddr': '00:16:3e:00:00:01' })).not.toThrow();
  });

  it('lets a client PUT back the volatile keys it read, unchanged', () => {
    const previous = { 'volatile.last_state.power': 'RUNNING', 'limits.cpu': '1' };
    expect(() => validateInstanceConfig({ ...previous, 'limits.cpu': '2' }, { previous })).not.toThrow();
    expect(rejection(() => validateInstanceConfig({ 'volatile.last_state.power': 'STOPPED' }, { previous }))).toBe(
      'Config key "volatile.last_state.power" is managed by the daemon and cannot be set',
    );
  });

  it('refuses volatile keys in profiles', () => {
    expect(rejection(() => validateInstanceConfig({ 'volatile.eth0.hwaddr': '00:16:3e:00:00:01' }, { profile: true }))).toBe(
      'Volatile keys are not allowed in profiles: volatile.eth0.hwaddr',
    );
  });

  it('treats empty values as unset', () => {
    expect(() => validateInstanceConfig({ 'limits.memory': '', 'security.privileged': '', 'raw.lxc': '' })).not.toThrow();
    expect(compactConfig({ 'limits.memory': '', 'limits.cpu': '2' })).toEqual({ 'limits.cpu': '2' });
  });
});
