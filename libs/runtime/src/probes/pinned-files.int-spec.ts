import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { directReader, PinnedFiles } from './pinned-files';

describe('PinnedFiles', () => {
  let dir: string;
  let files: PinnedFiles;
  // this process's own root is "/", so /proc/<our pid>/root + the path's components is the path
  const inRoot = (...rest: string[]) => files.readInContainer(process.pid, [...dir.split('/').filter(Boolean), ...rest]);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lodge-pinned-'));
    files = new PinnedFiles();
  });
  afterEach(() => {
    files.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('re-reads a kernel-generated file through the kept descriptor and sees fresh values', () => {
    const first = files.read(`/proc/${process.pid}/stat`)!;
    const spin = Date.now();
    while (Date.now() - spin < 50) {
      /* burn cpu so utime moves */
    }
    const second = files.read(`/proc/${process.pid}/stat`)!;
    expect(Number(second.split(' ')[13]) + Number(second.split(' ')[14])).toBeGreaterThan(Number(first.split(' ')[13]) + Number(first.split(' ')[14]));
  });

  it('reads files larger than its scratch buffer whole', () => {
    const big = 'x'.repeat(200_000);
    writeFileSync(join(dir, 'big'), big);
    expect(files.read(join(dir, 'big'))).toBe(big);
    expect(directReader.read(join(dir, 'big'))).toBe(big);
  });

  it('reads a regular file inside a root, and nothing a symlink, FIFO or ".." points at', () => {
    mkdirSync(join(dir, 'sys'));
    writeFileSync(join(dir, 'sys', 'mtu'), '1500\n');
    symlinkSync('/etc/hostname', join(dir, 'sys', 'address'));
    symlinkSync('/etc', join(dir, 'etc-link'));
    execFileSync('mkfifo', [join(dir, 'sys', 'flags')]);
    expect(inRoot('sys', 'mtu')).toBe('1500\n');
    expect(inRoot('sys', 'address')).toBeUndefined(); // symlink at the end
    expect(inRoot('etc-link', 'hostname')).toBeUndefined(); // symlink on the way
    expect(inRoot('sys', 'flags')).toBeUndefined(); // a FIFO: neither blocks nor is read
    expect(inRoot('sys', '..', 'sys', 'mtu')).toBeUndefined();
    expect(inRoot('sys', 'missing')).toBeUndefined();
  });

  it('closes what it kept and still answers afterwards', () => {
    writeFileSync(join(dir, 'v'), 'one');
    expect(files.read(join(dir, 'v'))).toBe('one');
    files.close();
    writeFileSync(join(dir, 'v'), 'two');
    expect(files.read(join(dir, 'v'))).toBe('two');
  });
});
