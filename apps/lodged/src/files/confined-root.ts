/**
 * Path resolution confined to an instance's root filesystem, with the semantics of openat2's
 * RESOLVE_IN_ROOT: an absolute symlink starts again at the instance's root, ".." never climbs
 * above it, and nothing is ever resolved against the host's own tree.
 *
 * Node has no openat2, so the walk is done one component at a time, each step relative to an
 * open directory descriptor (through /proc/self/fd/<fd>/<name>, where only the final name is
 * looked up in that directory) and never following a symlink implicitly: each link is read and
 * its target walked again under the same rules. A container that swaps a directory for a symlink
 * mid-walk makes the O_NOFOLLOW open fail instead of leading outside.
 */
import { closeSync, fstatSync, lstatSync, openSync, readlinkSync, Stats } from 'node:fs';
import { constants as fsc } from 'node:fs';
import { InvalidArgumentError, NotFoundError } from '@lodge/common';

/** open(2)'s O_PATH (010000000 on every architecture Lodge runs on); Node does not export it. */
export const O_PATH = 0o10000000;
/** Linux's limit on symlinks followed in one lookup (MAXSYMLINKS). */
const MAX_SYMLINKS = 40;
export const MAX_PATH_LENGTH = 4096;

export function fdPath(fd: number, name?: string): string {
  // "<fd>/." is the directory itself; "<fd>" alone would be the magic link
  return `/proc/self/fd/${fd}/${name ?? '.'}`;
}

/** Where a path ends up: its parent directory (kept open) and its final name there. */
export interface ResolvedEntry {
  /** open O_PATH descriptor of the directory that holds the entry */
  parentFd: number;
  /** the final component; '' when the entry is the directory parentFd itself (e.g. the root) */
  name: string;
  /** lstat of the entry; null when it does not exist (its parent does) */
  stat: Stats | null;
  /** path usable with *at-like Node calls that do not follow the final component */
  readonly path: string;
  /** open O_PATH descriptors of the directories walked through below the root, outermost first */
  ancestors: number[];
}

export class ConfinedRoot {
  private constructor(private readonly rootFd: number) {}

  /** Opens the root directory (a host path: a mounted volume or /proc/<pid>/root). */
  static open(rootPath: string): ConfinedRoot {
    return new ConfinedRoot(openSync(rootPath, O_PATH | fsc.O_DIRECTORY));
  }

  close(): void {
    closeSync(this.rootFd);
  }

  /**
   * Resolves `path` inside the root. Intermediate symlinks are always followed (inside the root);
   * the final one only with `followFinal`. Runs `use` with the result and closes every descriptor
   * it opened afterwards.
   */
  async withEntry<T>(path: string, followFinal: boolean, use: (entry: ResolvedEntry) => Promise<T> | T): Promise<T> {
    const opened: number[] = [];
    try {
      const entry = this.resolve(path, followFinal, opened);
      return await use(entry);
    } finally {
      for (const fd of opened) closeSync(fd);
    }
  }

  private resolve(path: string, followFinal: boolean, opened: number[]): ResolvedEntry {
    checkPath(path);
    const stack: number[] = [this.rootFd];
    const queue = components(path);
    let links = 0;
    if (queue.length === 0) return selfEntry(this.rootFd, []);
    while (queue.length > 0) {
      const name = queue.shift()!;
      const dir = stack[stack.length - 1];
      if (name === '..') {
        // lexical parent from the walk so far: the bottom of the stack is the root
        if (stack.length > 1) stack.pop();
        if (queue.length === 0) return selfEntry(stack[stack.length - 1], stack.slice(1));
        continue;
      }
      const last = queue.length === 0;
      let st: Stats;
      try {
        st = lstatSync(fdPath(dir, name));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && last) return entryOf(dir, name, null, stack.slice(1));
        throw pathError(err, path);
      }
      if (st.isSymbolicLink() && (!last || followFinal)) {
        if (++links > MAX_SYMLINKS) throw new InvalidArgumentError(`Too many levels of symbolic links in "${path}"`);
        const target = readlinkSync(fdPath(dir, name));
        if (target.startsWith('/')) stack.length = 1;
        queue.unshift(...components(target));
        if (queue.length === 0) return selfEntry(stack[stack.length - 1], stack.slice(1));
        continue;
      }
      if (last) return entryOf(dir, name, st, stack.slice(1));
      if (!st.isDirectory()) throw new InvalidArgumentError(`"${path}": a path component is not a directory`);
      let fd: number;
      try {
        fd = openSync(fdPath(dir, name), O_PATH | fsc.O_DIRECTORY | fsc.O_NOFOLLOW);
      } catch (err) {
        throw pathError(err, path);
      }
      opened.push(fd);
      stack.push(fd);
    }
    throw new Error('unreachable');
  }
}

function entryOf(parentFd: number, name: string, stat: Stats | null, ancestors: number[]): ResolvedEntry {
  return { parentFd, name, stat, path: fdPath(parentFd, name), ancestors };
}

/** A directory already open (the root, or one reached through ".." or a link to "."): name ''. */
function selfEntry(fd: number, ancestors: number[]): ResolvedEntry {
  return { parentFd: fd, name: '', stat: fstatSync(fd), path: fdPath(fd), ancestors };
}

function components(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

export function checkPath(path: string): void {
  if (typeof path !== 'string' || path === '') throw new InvalidArgumentError('Missing path argument');
  if (path.length > MAX_PATH_LENGTH) throw new InvalidArgumentError('Path too long');
  if (path.includes('\0')) throw new InvalidArgumentError('Invalid path');
}

function pathError(err: unknown, path: string): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new NotFoundError(`Path "${path}" not found`);
  if (code === 'ENOTDIR') return new InvalidArgumentError(`"${path}": a path component is not a directory`);
  if (code === 'ELOOP') return new InvalidArgumentError(`"${path}" changed while it was being resolved`);
  return err as Error;
}
