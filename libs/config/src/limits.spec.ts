import { InvalidArgumentError } from '@lodge/common';
import { toRuntimeLimits, affectsLimits } from '@lodge/config';

const GiB = 1024 ** 3;
const host = { memoryBytes: 16 * GiB, onlineCpus: [0, 1, 2, 3] };

/** The result for an empty config: every limit removed. */
const NONE = {
  memoryMax: null,
  memoryLow: null,
  swap: null,
  cpuCount: null,
  cpuQuota: null,
  cpuWeight: null,
  pidsMax: null,
};

describe('toRuntimeLimits', () => {
  it('removes every limit when no key is set (a live update then clears them)', () => {
    expect(toRuntimeLimits({}, host)).toEqual(NONE);
    expect(toRuntimeLimits({ 'user.x': 'y', 'limits.memory': '' }, host)).toEqual(NONE);
  });

  describe('limits.memory', () => {
    it('is a hard limit by default, in LXD units', () => {
      expect(toRuntimeLimits({ 'limits.memory': '512MB' }, host)).toMatchObject({ memoryMax: 512_000_000, memoryLow: null });
      expect(toRuntimeLimits({ 'limits.memory': '1GiB' }, host)).toMatchObject({ memoryMax: GiB, memoryLow: null });
      expect(toRuntimeLimits({ 'limits.memory': '1GiB', 'limits.memory.enforce': 'hard' }, host)).toMatchObject({ memoryMax: GiB });
    });
    it('takes a percentage of host memory, rounded down', () => {
      expect(toRuntimeLimits({ 'limits.memory': '50%' }, host).memoryMax).toBe(8 * GiB);
      expect(toRuntimeLimits({ 'limits.memory': '33%' }, { ...host, memoryBytes: 1000 * 1024 * 1024 + 1 }).memoryMax).toBe(
        Math.floor(((1000 * 1024 * 1024 + 1) * 33) / 100),
      );
    });
    it('becomes a soft limit (memoryLow) with no hard limit when enforce=soft', () => {
      expect(toRuntimeLimits({ 'limits.memory': '2GiB', 'limits.memory.enforce': 'soft' }, host)).toMatchObject({
        memoryMax: null,
        memoryLow: 2 * GiB,
      });
    });
    it('refuses a percentage that comes out below 4MiB on this host', () => {
      expect(() => toRuntimeLimits({ 'limits.memory': '1%' }, { ...host, memoryBytes: 100 * 1024 * 1024 })).toThrow(
        'Invalid value "1%" for config key "limits.memory": that is 1048576 bytes of this host\'s memory, below the minimum of 4MiB',
      );
    });
  });

  it('limits.memory.swap: false -> no swap, true -> swap, unset -> null', () => {
    expect(toRuntimeLimits({ 'limits.memory.swap': 'false' }, host).swap).toBe(false);
    expect(toRuntimeLimits({ 'limits.memory.swap': 'off' }, host).swap).toBe(false);
    expect(toRuntimeLimits({ 'limits.memory.swap': 'true' }, host).swap).toBe(true);
    expect(toRuntimeLimits({}, host).swap).toBeNull();
  });

  describe('limits.cpu', () => {
    it('a count becomes cpuCount (the runtime picks the CPUs), with no cpuset', () => {
      const l = toRuntimeLimits({ 'limits.cpu': '2' }, host);
      expect(l.cpuCount).toBe(2);
      expect('cpuset' in l).toBe(false);
    });
    it('a count above the host is clamped to all online CPUs', () => {
      expect(toRuntimeLimits({ 'limits.cpu': '16' }, host).cpuCount).toBe(4);
    });
    it('a list becomes a cpuset, with no cpuCount', () => {
      const l = toRuntimeLimits({ 'limits.cpu': '0-1,3' }, host);
      expect(l.cpuset).toBe('0-1,3');
      expect('cpuCount' in l).toBe(false);
      expect(toRuntimeLimits({ 'limits.cpu': '2-2' }, host).cpuset).toBe('2');
    });
    it('a list keeps only online CPUs, and refuses a list with none', () => {
      expect(toRuntimeLimits({ 'limits.cpu': '2-7' }, host).cpuset).toBe('2-3');
      expect(() => toRuntimeLimits({ 'limits.cpu': '8-9' }, host)).toThrow(
        'Invalid value "8-9" for config key "limits.cpu": none of these CPUs is online on this host (online: 0-3)',
      );
    });
  });

  describe('limits.cpu.allowance and limits.cpu.priority', () => {
    it('"X%" becomes cpuWeight X (100% = the default weight), no quota', () => {
      expect(toRuntimeLimits({ 'limits.cpu.allowance': '50%' }, host)).toMatchObject({ cpuWeight: 50, cpuQuota: null });
      expect(toRuntimeLimits({ 'limits.cpu.allowance': '100%' }, host)).toMatchObject({ cpuWeight: 100 });
    });
    it('"Qms/Pms" becomes a hard quota, no weight', () => {
      expect(toRuntimeLimits({ 'limits.cpu.allowance': '25ms/100ms' }, host)).toMatchObject({
        cpuQuota: { quotaUs: 25_000, periodUs: 100_000 },
        cpuWeight: null,
      });
      expect(toRuntimeLimits({ 'limits.cpu.allowance': '200ms/100ms' }, host).cpuQuota).toEqual({ quotaUs: 200_000, periodUs: 100_000 });
    });
    it('priority lowers the weight by 10 - priority, never below 1', () => {
      expect(toRuntimeLimits({ 'limits.cpu.priority': '10' }, host).cpuWeight).toBe(100);
      expect(toRuntimeLimits({ 'limits.cpu.priority': '0' }, host).cpuWeight).toBe(90);
      expect(toRuntimeLimits({ 'limits.cpu.allowance': '50%', 'limits.cpu.priority': '5' }, host).cpuWeight).toBe(45);
      expect(toRuntimeLimits({ 'limits.cpu.allowance': '5%', 'limits.cpu.priority': '0' }, host).cpuWeight).toBe(1);
      expect(toRuntimeLimits({ 'limits.cpu.allowance': '25ms/100ms', 'limits.cpu.priority': '8' }, host)).toMatchObject({
        cpuWeight: 98,
        cpuQuota: { quotaUs: 25_000, periodUs: 100_000 },
      });
    });
  });

  it('limits.processes becomes pidsMax', () => {
    expect(toRuntimeLimits({ 'limits.processes': '500' }, host).pidsMax).toBe(500);
  });

  it('maps a full config, and removing keys nulls exactly those limits', () => {
    const full = {
      'limits.cpu': '2',
      'limits.cpu.allowance': '25ms/100ms',
      'limits.memory': '1GiB',
      'limits.memory.swap': 'false',
      'limits.processes': '100',
    };
    expect(toRuntimeLimits(full, host)).toEqual({
      memoryMax: GiB,
      memoryLow: null,
      swap: false,
      cpuCount: 2,
      cpuQuota: { quotaUs: 25_000, periodUs: 100_000 },
      cpuWeight: null,
      pidsMax: 100,
    });
    const { 'limits.memory': _m, 'limits.processes': _p, ...rest } = full;
    expect(toRuntimeLimits(rest, host)).toEqual({
      memoryMax: null,
      memoryLow: null,
      swap: false,
      cpuCount: 2,
      cpuQuota: { quotaUs: 25_000, periodUs: 100_000 },
      cpuWeight: null,
      pidsMax: null,
    });
  });

  it('rejects bad values with the validation message', () => {
    expect(() => toRuntimeLimits({ 'limits.memory': '1G' }, host)).toThrow(InvalidArgumentError);
    expect(() => toRuntimeLimits({ 'limits.processes': 'many' }, host)).toThrow(
      'Invalid value "many" for config key "limits.processes": "many" is not an integer',
    );
  });
});

describe('affectsLimits', () => {
  it('is true only for the limit keys', () => {
    expect(affectsLimits(['user.x', 'limits.memory'])).toBe(true);
    expect(affectsLimits(['security.nesting', 'environment.A'])).toBe(false);
  });
});
