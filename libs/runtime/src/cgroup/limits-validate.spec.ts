import { InvalidArgumentError, NotSupportedError } from '@lodge/common';
import type { CgroupCapabilities } from './cgroup-backend';
import type { ResourceLimits } from './limits';
import {
  assertCpusetSubset,
  assertLimitsSupported,
  parseCpuList,
  validateCgroupName,
  validateLimits,
} from './limits-validate';

const MiB = 1024 * 1024;

function rejection(limits: unknown): InvalidArgumentError {
  try {
    validateLimits(limits as ResourceLimits);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    return err as InvalidArgumentError;
  }
  throw new Error(`expected ${JSON.stringify(limits)} to be rejected`);
}

describe('validateLimits', () => {
  it.each<[string, ResourceLimits]>([
    ['empty', {}],
    ['all nulls', { memoryMax: null, memoryLow: null, swap: null, cpuset: null, cpuQuota: null, cpuWeight: null, pidsMax: null }],
    ['4 MiB exactly', { memoryMax: 4 * MiB }],
    ['memoryLow equal to memoryMax', { memoryMax: 64 * MiB, memoryLow: 64 * MiB }],
    ['memoryLow 0', { memoryLow: 0 }],
    ['swap false', { swap: false }],
    ['single cpu', { cpuset: '0' }],
    ['cpu list', { cpuset: '0-3,5,7-8' }],
    ['quota at the minimum', { cpuQuota: { quotaUs: 1000, periodUs: 1000 } }],
    ['quota above the period', { cpuQuota: { quotaUs: 200000, periodUs: 100000 } }],
    ['period at the maximum', { cpuQuota: { quotaUs: 50000, periodUs: 1000000 } }],
    ['weight bounds', { cpuWeight: 1 }],
    ['weight max', { cpuWeight: 10000 }],
    ['one pid', { pidsMax: 1 }],
  ])('accepts %s', (_, limits) => {
    expect(() => validateLimits(limits)).not.toThrow();
  });

  it.each<[string, unknown, string, string]>([
    ['memory below 4 MiB', { memoryMax: 4 * MiB - 1 }, 'memoryMax', String(4 * MiB - 1)],
    ['fractional memory', { memoryMax: 64 * MiB + 0.5 }, 'memoryMax', String(64 * MiB + 0.5)],
    ['unsafe memory', { memoryMax: 2 ** 60 }, 'memoryMax', String(2 ** 60)],
    ['negative memoryLow', { memoryLow: -1 }, 'memoryLow', '-1'],
    ['memoryLow above memoryMax', { memoryMax: 64 * MiB, memoryLow: 65 * MiB }, 'memoryLow', String(65 * MiB)],
    ['memory as a string', { memoryMax: '512MB' }, 'memoryMax', '"512MB"'],
    ['swap as a string', { swap: 'no' }, 'swap', '"no"'],
    ['cpuset with spaces', { cpuset: '0, 1' }, 'cpuset', '"0, 1"'],
    ['cpuset reversed range', { cpuset: '3-1' }, 'cpuset', '"3-1"'],
    ['cpuset empty', { cpuset: '' }, 'cpuset', '""'],
    ['cpuset trailing comma', { cpuset: '0,' }, 'cpuset', '"0,"'],
    ['cpuset negative', { cpuset: '-1' }, 'cpuset', '"-1"'],
    ['quota too small', { cpuQuota: { quotaUs: 999, periodUs: 100000 } }, 'cpuQuota.quotaUs', '999'],
    ['period too small', { cpuQuota: { quotaUs: 5000, periodUs: 999 } }, 'cpuQuota.periodUs', '999'],
    ['period too large', { cpuQuota: { quotaUs: 5000, periodUs: 1000001 } }, 'cpuQuota.periodUs', '1000001'],
    ['weight 0', { cpuWeight: 0 }, 'cpuWeight', '0'],
    ['weight 10001', { cpuWeight: 10001 }, 'cpuWeight', '10001'],
    ['weight fractional', { cpuWeight: 1.5 }, 'cpuWeight', '1.5'],
    ['pidsMax 0', { pidsMax: 0 }, 'pidsMax', '0'],
    ['unknown key', { memory: 5 }, 'limit key', '"memory"'],
  ])('rejects %s, naming the field and value', (_, limits, field, shown) => {
    const err = rejection(limits);
    expect(err.message).toContain(`invalid ${field} ${shown}`);
  });

  it('rejects a non-object', () => {
    expect(rejection(null).message).toContain('limits');
  });
});

describe('parseCpuList', () => {
  it('expands ranges and de-duplicates', () => {
    expect(parseCpuList('0-3,5,2')).toEqual([0, 1, 2, 3, 5]);
    expect(parseCpuList('7')).toEqual([7]);
  });
  it('returns undefined for text outside the grammar', () => {
    for (const bad of ['', 'a', '1-', '-', '1--2', '0-3,,5', ' 1', '1-2-3', '9999']) {
      expect(parseCpuList(bad)).toBeUndefined();
    }
  });
});

describe('assertCpusetSubset', () => {
  it('accepts a subset of the available cpus (kernel text may end with a newline)', () => {
    expect(() => assertCpusetSubset('1', '0-1\n')).not.toThrow();
  });
  it('names the cpus that are not available', () => {
    expect(() => assertCpusetSubset('0-3', '0-1')).toThrow(/invalid cpuset "0-3": cpus 2,3 are not available/);
  });
});

describe('assertLimitsSupported', () => {
  const none: CgroupCapabilities = {
    version: 'v2',
    memory: false,
    swapLimit: false,
    cpu: false,
    cpuset: false,
    pids: false,
    freezer: true,
    killAll: true,
    devices: false,
  };
  it.each<[ResourceLimits, string]>([
    [{ memoryMax: 64 * MiB }, 'memory'],
    [{ memoryLow: 0 }, 'memory'],
    [{ swap: false }, 'memory'],
    [{ cpuQuota: { quotaUs: 1000, periodUs: 1000 } }, 'cpu'],
    [{ cpuWeight: 5 }, 'cpu'],
    [{ cpuset: '0' }, 'cpuset'],
    [{ pidsMax: 5 }, 'pids'],
  ])('%j needs the %s controller', (limits, controller) => {
    expect(() => assertLimitsSupported(limits, none)).toThrow(NotSupportedError);
    expect(() => assertLimitsSupported(limits, none)).toThrow(`the ${controller} cgroup controller is not available`);
  });
  it('treats removing a limit and allowing swap as no-ops', () => {
    expect(() => assertLimitsSupported({ memoryMax: null, swap: true, pidsMax: null }, none)).not.toThrow();
  });
});

describe('validateCgroupName', () => {
  it.each(['c1', 'lodge-test-1-ab', 'a_b.c'])('accepts %s', (n) => expect(() => validateCgroupName('name', n)).not.toThrow());
  it.each(['', '.', '..', 'a/b', '-x', 'x'.repeat(129), 'a b'])('rejects %#', (n) => {
    expect(() => validateCgroupName('name', n)).toThrow(InvalidArgumentError);
  });
});
