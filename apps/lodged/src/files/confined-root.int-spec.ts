/**
 * ConfinedRoot on a real directory tree: every way out (absolute links, "..", relative links
 * climbing past the root) ends inside the root, as openat2's RESOLVE_IN_ROOT would.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfinedRoot, ResolvedEntry } from './confined-root';

describe('ConfinedRoot', () => {
  let base: string;
  let rootDir: string;
  let root: ConfinedRoot;
  /** a file next to the root: what an escape would reach */
  let outside: string;

  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), 'lodge-confined-'));
    rootDir = join(base, 'root');
    outside = join(base, 'outside.txt');
    writeFileSync(outside, 'outside');
    mkdirSync(join(rootDir, 'a', 'b'), { recursive: true });
    writeFileSync(join(rootDir, 'a', 'b', 'f'), 'inside f');
    mkdirSync(join(rootDir, base), { recursive: true });
    writeFileSync(join(rootDir, base, 'outside.txt'), 'the root\'s own copy');
    symlinkSync('/a/b', join(rootDir, 'abs'));
    symlinkSync(outside, join(rootDir, 'host-file'));
    symlinkSync('../../../../../../../..' + outside, join(rootDir, 'a', 'climb'));
    symlinkSync('/', join(rootDir, 'a', 'slash'));
    symlinkSync('loop2', join(rootDir, 'loop1'));
    symlinkSync('loop1', join(rootDir, 'loop2'));
    root = ConfinedRoot.open(rootDir);
  });
  afterAll(() => {
    root?.close();
    rmSync(base, { recursive: true, force: true });
  });

  const at = (path: string, follow = true) => root.withEntry(path, follow, (e: ResolvedEntry) => ({ stat: e.stat, name: e.name, content: e.stat?.isFile() ? readFileSync(e.path, 'utf8') : undefined }));
  const inode = (p: string) => statSync(p).ino;

  it('resolves plain paths, "." and "/" inside the root', async () => {
    expect((await at('/a/b/f')).content).toBe('inside f');
    expect((await at('a/./b//f')).content).toBe('inside f');
    const r = await at('/');
    expect([r.name, r.stat!.ino]).toEqual(['', inode(rootDir)]);
  });

  it('".." stops at the root', async () => {
    expect((await at('/../../../a/b/f')).content).toBe('inside f');
    expect((await at('/a/b/../../..')).stat!.ino).toBe(inode(rootDir));
    expect((await at(`/../../../..${outside}`)).content).toBe('the root\'s own copy');
  });

  it('absolute and climbing symlinks are resolved against the root, not the host', async () => {
    expect((await at('/abs/f')).content).toBe('inside f');
    expect((await at('/host-file')).content).toBe('the root\'s own copy');
    expect((await at('/a/climb')).content).toBe('the root\'s own copy');
    expect((await at('/a/slash/a/b/f')).content).toBe('inside f');
    expect(readFileSync(outside, 'utf8')).toBe('outside');
  });

  it('the final symlink is not followed unless asked', async () => {
    const link = await at('/host-file', false);
    expect([link.stat!.isSymbolicLink(), link.name, link.content]).toEqual([true, 'host-file', undefined]);
  });

  it('a missing final name resolves to its parent; a missing directory on the way is not found', async () => {
    const missing = await at('/a/b/new');
    expect([missing.stat, missing.name]).toEqual([null, 'new']);
    await expect(at('/a/nope/new')).rejects.toThrow('Path "/a/nope/new" not found');
    await expect(at('/a/b/f/x')).rejects.toThrow('a path component is not a directory');
  });

  it('symlink loops end with an error', async () => {
    await expect(at('/loop1')).rejects.toThrow('Too many levels of symbolic links');
  });

  it('refuses empty, NUL and oversized paths', async () => {
    await expect(at('')).rejects.toThrow('Missing path argument');
    await expect(at('/a\0b')).rejects.toThrow('Invalid path');
    await expect(at('/' + 'x'.repeat(5000))).rejects.toThrow('Path too long');
  });
});
