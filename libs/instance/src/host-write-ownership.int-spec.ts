import { lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shiftHostWrites, toHostId } from './host-write-ownership';

describe('shiftHostWrites', () => {
  const map = [{ inside: 0, outside: 1_000_000_000, count: 65536 }];
  let upper: string;
  beforeEach(() => {
    upper = mkdtempSync(join(tmpdir(), 'lodge-upper-'));
  });
  afterEach(() => rmSync(upper, { recursive: true, force: true }));

  it('maps container ids to host ids and leaves others undefined', () => {
    expect(toHostId(0, map)).toBe(1_000_000_000);
    expect(toHostId(1000, map)).toBe(1_000_001_000);
    expect(toHostId(70000, map)).toBeUndefined();
  });

  it('gives copied-up directories and written files the mapped owner, once', () => {
    mkdirSync(join(upper, 'etc', 'sub'), { recursive: true });
    writeFileSync(join(upper, 'etc', 'hostname'), 'c1\n');
    writeFileSync(join(upper, 'etc', 'sub', 'f'), 'x');
    symlinkSync('/etc/passwd', join(upper, 'etc', 'link'));
    shiftHostWrites(upper, ['/etc/hostname', '/etc/sub/f', '/etc/link', '/missing/file'], map, map);
    for (const p of ['etc', 'etc/hostname', 'etc/sub', 'etc/sub/f']) {
      expect([lstatSync(join(upper, p)).uid, lstatSync(join(upper, p)).gid]).toEqual([1_000_000_000, 1_000_000_000]);
    }
    // the symlink itself is chowned, never what it points at
    expect(lstatSync(join(upper, 'etc', 'link')).uid).toBe(1_000_000_000);
    expect(lstatSync('/etc/passwd').uid).toBe(0);
    // already shifted: unchanged by a second pass
    shiftHostWrites(upper, ['/etc/hostname'], map, map);
    expect(lstatSync(join(upper, 'etc', 'hostname')).uid).toBe(1_000_000_000);
  });
});
