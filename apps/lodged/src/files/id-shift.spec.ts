import { IdShift, parseIdMap } from './id-shift';

describe('IdShift', () => {
  const map = [{ inside: 0, outside: 100000, count: 65536 }];

  it('reads /proc/<pid>/uid_map', () => {
    expect(parseIdMap('         0     100000      65536\n      1000       2000          1\n')).toEqual([
      { inside: 0, outside: 100000, count: 65536 },
      { inside: 1000, outside: 2000, count: 1 },
    ]);
  });

  it('shifts container ids to host ids and back', () => {
    const ids = new IdShift(map, map, 'overflow');
    expect([ids.uidToHost(0), ids.gidToHost(1000), ids.uidToContainer(101000), ids.gidToContainer(165535)]).toEqual([100000, 101000, 1000, 65535]);
    expect(() => ids.uidToHost(65536)).toThrow('Invalid uid 65536: not mapped in the instance');
  });

  it('shows an unmapped host id as the overflow id when running, as itself on a stopped volume', () => {
    expect(new IdShift(map, map, 'overflow').uidToContainer(0)).toBe(65534);
    const stopped = new IdShift(map, map, 'as-is');
    expect(stopped.uidToContainer(0)).toBe(0);
    // an image-layer entry (unshifted) is owed its shifted owner; a shifted one is left as it is
    expect(stopped.shiftedOwner(0, 5)).toEqual({ uid: 100000, gid: 100005 });
    expect(stopped.shiftedOwner(100000, 100005)).toEqual({ uid: 100000, gid: 100005 });
  });

  it('identity for privileged instances', () => {
    const ids = IdShift.identity();
    expect([ids.uidToHost(0), ids.uidToContainer(100000), ids.shiftedOwner(3, 4)]).toEqual([0, 100000, { uid: 3, gid: 4 }]);
  });
});
