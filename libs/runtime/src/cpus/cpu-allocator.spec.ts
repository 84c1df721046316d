import { InvalidArgumentError } from '@lodge/common';
import { formatCpuList, pickCpus } from './cpu-allocator';

describe('pickCpus', () => {
  const online = [0, 1, 2, 3];

  it('takes the lowest CPUs on an idle host', () => {
    expect(pickCpus(2, online, [])).toEqual([0, 1]);
  });

  it('spreads containers over the least used CPUs', () => {
    expect(pickCpus(2, online, [[0, 1]])).toEqual([2, 3]);
    expect(pickCpus(1, online, [[0, 1], [2, 3], [0]])).toEqual([1]);
    expect(pickCpus(3, online, [[1], [1], [2]])).toEqual([0, 2, 3]);
  });

  it('ignores pins on CPUs that are offline now', () => {
    expect(pickCpus(1, [2, 3], [[0], [1], [2]])).toEqual([3]);
  });

  it('refuses counts the host cannot give', () => {
    expect(() => pickCpus(5, online, [])).toThrow(InvalidArgumentError);
    expect(() => pickCpus(5, online, [])).toThrow(/more than the 4 online CPUs/);
    expect(() => pickCpus(0, online, [])).toThrow(/positive integer/);
    expect(() => pickCpus(1.5, online, [])).toThrow(/positive integer/);
  });
});

describe('formatCpuList', () => {
  it.each([
    [[0], '0'],
    [[0, 1, 2, 5], '0-2,5'],
    [[3, 1, 2], '1-3'],
    [[0, 2, 4, 5, 6, 9], '0,2,4-6,9'],
  ])('%j -> %s', (cpus, text) => {
    expect(formatCpuList(cpus)).toBe(text);
  });
});
