import { InvalidArgumentError } from '@lodge/common';
import { formatBytes, parseBool, parseBytes, parseCpuSet, formatCpuSet, parseDurationUs, parseIntStrict } from '@lodge/config';

describe('parseBytes (LXD units)', () => {
  it.each<[string, number]>([
    ['0', 0],
    ['4096', 4096],
    ['512B', 512],
    ['512bytes', 512],
    ['512 bytes', 512],
    ['1kB', 1000],
    ['512MB', 512_000_000],
    ['2GB', 2_000_000_000],
    ['1TB', 1e12],
    ['1PB', 1e15],
    ['1KiB', 1024],
    ['512MiB', 512 * 1024 ** 2],
    ['1GiB', 1024 ** 3],
    ['3TiB', 3 * 1024 ** 4],
    ['1PiB', 1024 ** 5],
  ])('%s is %d bytes', (text, bytes) => {
    expect(parseBytes(text)).toBe(bytes);
  });

  it('tells decimal from binary units', () => {
    expect(parseBytes('1GiB') - parseBytes('1GB')).toBe(73_741_824);
  });

  it('rejects kernel-style and lower-case suffixes with the units to use', () => {
    expect(() => parseBytes('1G')).toThrow(
      'invalid byte size "1G": unknown unit "G" (use B, kB, MB, GB, TB, PB, EB (powers of 1000) or KiB, MiB, GiB, TiB, PiB, EiB (powers of 1024))',
    );
    for (const bad of ['1gb', '1KB', '1mib', '1.5GB', '-1MB', 'MB', '', ' 1MB', '1 MB', '1MB ']) {
      expect(() => parseBytes(bad)).toThrow(InvalidArgumentError);
    }
  });

  it('rejects sizes that do not fit a safe integer instead of rounding them', () => {
    expect(() => parseBytes('1EiB')).toThrow('invalid byte size "1EiB": too large');
    expect(() => parseBytes('9EB')).toThrow(/too large/);
    expect(parseBytes('7PiB')).toBe(7 * 1024 ** 5);
  });
});

describe('formatBytes', () => {
  it('uses the largest exact binary unit, then decimal, then bytes', () => {
    expect(formatBytes(0)).toBe('0B');
    expect(formatBytes(512 * 1024 ** 2)).toBe('512MiB');
    expect(formatBytes(1024 ** 3)).toBe('1GiB');
    expect(formatBytes(1536 * 1024 ** 2)).toBe('1536MiB');
    expect(formatBytes(500_000_000)).toBe('500MB');
    expect(formatBytes(1234)).toBe('1234B');
  });
  it('round-trips through parseBytes', () => {
    for (const n of [0, 1, 999, 1000, 1024, 4096, 10 ** 9, 3 * 1024 ** 4, 123_456_789]) {
      expect(parseBytes(formatBytes(n))).toBe(n);
    }
  });
  it('gives people two decimals when asked', () => {
    expect(formatBytes(1536 * 1024 ** 2, { approximate: true })).toBe('1.50GiB');
    expect(formatBytes(900, { approximate: true })).toBe('900B');
  });
  it('refuses negative and fractional byte counts', () => {
    expect(() => formatBytes(-1)).toThrow(InvalidArgumentError);
    expect(() => formatBytes(1.5)).toThrow(InvalidArgumentError);
  });
});

describe('small grammars', () => {
  it('parseBool takes LXD spellings in any case', () => {
    for (const t of ['true', 'TRUE', 'True', '1', 'yes', 'on', 'ON']) expect(parseBool(t)).toBe(true);
    for (const f of ['false', 'False', '0', 'no', 'off']) expect(parseBool(f)).toBe(false);
    expect(() => parseBool('y')).toThrow('"y" is not a boolean (use true or false)');
  });
  it('parseIntStrict checks the grammar and the range', () => {
    expect(parseIntStrict('-3')).toBe(-3);
    expect(() => parseIntStrict('1.0')).toThrow('"1.0" is not an integer');
    expect(() => parseIntStrict('11', 0, 10)).toThrow('11 is not between 0 and 10');
    expect(() => parseIntStrict('0', 1)).toThrow('0 is below the minimum of 1');
  });
  it('cpu lists parse and format like the kernel', () => {
    expect(parseCpuSet('0-2,5,1')).toEqual([0, 1, 2, 5]);
    expect(formatCpuSet([5, 0, 1, 2])).toBe('0-2,5');
    expect(() => parseCpuSet('3-1')).toThrow('"3-1": range 3-1 ends before it starts');
    expect(() => parseCpuSet('0,,1')).toThrow(InvalidArgumentError);
  });
  it('durations are us, ms or s', () => {
    expect(parseDurationUs('25ms')).toBe(25_000);
    expect(parseDurationUs('500us')).toBe(500);
    expect(parseDurationUs('1s')).toBe(1_000_000);
    expect(() => parseDurationUs('25')).toThrow(InvalidArgumentError);
  });
});
