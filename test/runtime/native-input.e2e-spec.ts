/**
 * The addon validates what JavaScript hands it: wrong types get a TypeError and nothing runs; the
 * process never aborts. (Runs where the addon is built; no container is made.)
 */
import { loadNativeAddon } from '../../libs/runtime/src/native/native-binding';

const addon = loadNativeAddon() as unknown as Record<string, (...args: unknown[]) => unknown>;

/** The error's name: addon errors come from Node's main realm, not jest's, so no instanceof. */
function thrownName(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as Error).name;
  }
  return undefined;
}

describe('the native addon rejects bad arguments with a TypeError', () => {
  it.each([
    ['pidfdOpen', ['x']],
    ['pidfdOpen', [-5]],
    ['pidfdSendSignal', []],
    ['pidfdSendSignal', [3, 'SIGKILL']],
    ['closeFd', ['x']],
    ['closeFd', [0]],
    ['setWindowSize', [3, 0, 80]],
    ['setWindowSize', ['x', 24, 80]],
    ['errnoName', [{}]],
    ['watchExit', ['x', () => undefined, false]],
    ['watchExit', [3, 'not a function', false]],
    ['setAppendOnly', [null, true]],
  ])('%s(%j)', (fn, args) => {
    expect(thrownName(() => addon[fn](...args))).toBe('TypeError');
  });

  it('spawn: bad field types are refused before anything starts', () => {
    const base = { rootfs: '/nonexistent', argv: ['/sbin/init'], env: [], userns: true, mounts: [], cgroupProcs: [] };
    for (const bad of [
      { ...base, confine: { seccomp: true, dropCaps: ['sys_time'] } },
      { ...base, mounts: [null] },
      { ...base, mounts: [{ kind: 9, target: '/x', stage: 1 }] },
      { ...base, consoleFd: 'x' },
      { ...base, rootUid: -1 },
      { ...base, argv: [1] },
    ]) {
      expect(thrownName(() => addon.spawn(bad))).toBe('TypeError');
    }
  });

  it('exec: bad ids, groups and sizes are refused before anything starts', () => {
    const base = { initPidfd: 999, argv: ['/bin/true'], env: [], userns: true, cgroupProcs: [] };
    for (const bad of [
      { ...base, groups: ['wheel'] },
      { ...base, uid: -1 },
      { ...base, uid: 0xffffffff },
      { ...base, rows: 0 },
      { ...base, confine: 'x' },
    ]) {
      expect(thrownName(() => addon.exec(bad))).toBe('TypeError');
    }
  });

  it('reports a missing process without throwing', () => {
    expect(() => addon.pidfdOpen(2 ** 22 + 12345)).toThrow(/pidfd_open: ESRCH/);
  });
});
