/**
 * GET/POST/DELETE of one path inside an instance, as LXD's /files endpoint does them. Every path
 * is resolved inside the instance's root (ConfinedRoot); owners travel as container ids.
 */
import { chmodSync, chownSync, closeSync, constants as fsc, createReadStream, createWriteStream, fchmodSync, fchownSync, fstatSync, lchownSync, mkdirSync, openSync, readdirSync, readlinkSync, rmdirSync, Stats, symlinkSync, unlinkSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Injectable } from '@nestjs/common';
import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from '@lodge/common';
import { fdPath, MAX_PATH_LENGTH, ResolvedEntry } from './confined-root';
import { FileWriteHeaders } from './file-headers';
import { IdShift } from './id-shift';
import { InstanceRoot, InstanceRoots } from './instance-root';

/** What GET found: owner and mode (container ids) plus the content by type. */
export type FileRead = {
  uid: number;
  gid: number;
  mode: number;
} & ({ type: 'file'; content: Readable } | { type: 'directory'; entries: string[] } | { type: 'symlink'; target: string });

@Injectable()
export class InstanceFilesService {
  constructor(private readonly roots: InstanceRoots) {}

  /**
   * Reads a path and hands it to `send`: a file's content as an open stream, a directory's entry
   * names, a symlink's target (not followed). A stopped instance's volume stays mounted until
   * `send` is done.
   */
  async read(name: string, path: string, send: (r: FileRead) => Promise<void>): Promise<void> {
    const found = (r: FileRead) => send(r);
    await this.roots.with(name, ({ root, ids }) =>
      root.withEntry(path, false, (e) => {
        const st = existing(e, path);
        const owner = { uid: ids.uidToContainer(st.uid), gid: ids.gidToContainer(st.gid), mode: st.mode & 0o7777 };
        if (st.isSymbolicLink()) return found({ ...owner, type: 'symlink', target: readlinkSync(e.path) });
        if (st.isDirectory()) {
          const fd = openVerified(e, fsc.O_RDONLY | fsc.O_DIRECTORY, st);
          let entries: string[];
          try {
            entries = readdirSync(fdPath(fd)).sort();
          } finally {
            closeSync(fd);
          }
          return found({ ...owner, type: 'directory', entries });
        }
        if (!st.isFile()) throw new InvalidArgumentError(`Bad file type: "${path}" is not a regular file, directory or symlink`);
        // O_NONBLOCK: should the entry turn into a FIFO before the open, the open does not hang
        const fd = openVerified(e, fsc.O_RDONLY | fsc.O_NONBLOCK, st);
        const content = createReadStream('', { fd, autoClose: true });
        // the descriptor must be closed before a stopped instance's volume is unmounted
        return found({ ...owner, type: 'file', content }).finally(() => closed(content.destroy()));
      }),
    );
  }

  /** Creates or writes a path from the request body (streamed, never held whole). */
  async write(name: string, path: string, h: FileWriteHeaders, body: Readable): Promise<void> {
    await this.roots.with(name, async (r) => {
      if (h.type === 'file') return this.writeFile(r, path, h, body);
      if (h.type === 'directory') return this.makeDirectory(r, path, h);
      return this.makeSymlink(r, path, h, await readSmall(body, MAX_PATH_LENGTH));
    });
  }

  async remove(name: string, path: string): Promise<void> {
    await this.roots.with(name, ({ root, ids, hostView }) =>
      root.withEntry(path, false, (e) => {
        if (hostView) shiftCopiedUp(e, ids);
        const st = existing(e, path);
        if (e.name === '') throw new InvalidArgumentError('The root directory cannot be deleted');
        if (st.isDirectory()) {
          try {
            rmdirSync(e.path);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'ENOTEMPTY') throw new InvalidArgumentError(`Directory "${path}" is not empty`);
            throw err;
          }
          return;
        }
        unlinkSync(e.path);
      }),
    );
  }

  private async writeFile({ root, ids, hostView }: InstanceRoot, path: string, h: FileWriteHeaders, body: Readable): Promise<void> {
    await root.withEntry(path, true, async (e) => {
      if (hostView) shiftCopiedUp(e, ids);
      if (e.name === '' || e.stat?.isDirectory()) throw new InvalidArgumentError(`"${path}" is a directory`);
      if (e.stat && !e.stat.isFile()) throw new InvalidArgumentError(`Bad file type: "${path}" is not a regular file`);
      const owner = plannedOwner(ids, h, e.stat, 0o644);
      const flags = fsc.O_WRONLY | fsc.O_NOFOLLOW | (h.write === 'append' ? fsc.O_APPEND : fsc.O_TRUNC);
      const fd = e.stat ? openVerified(e, flags, e.stat) : createExclusive(e, path, flags, owner.mode);
      try {
        applyOwner(fd, owner);
      } catch (err) {
        closeSync(fd);
        throw err;
      }
      // the write stream closes fd when the body ends or fails; the volume may be unmounted after that
      const out = createWriteStream('', { fd, autoClose: true });
      try {
        await pipeline(body, out);
      } finally {
        await closed(out.destroy());
      }
    });
  }

  private async makeDirectory({ root, ids, hostView }: InstanceRoot, path: string, h: FileWriteHeaders): Promise<void> {
    await root.withEntry(path, false, (e) => {
      if (hostView) shiftCopiedUp(e, ids);
      if (e.stat && !e.stat.isDirectory()) throw new AlreadyExistsError(`"${path}" already exists and is not a directory`);
      // an existing directory (`lxc file push -r` into it, `mkdir -p`) keeps what is not asked for
      const owner = plannedOwner(ids, h, e.stat, 0o755);
      if (!e.stat) mkdirSync(e.path, { mode: owner.mode });
      const fd = openVerified(e, fsc.O_RDONLY | fsc.O_DIRECTORY, e.stat ?? undefined);
      try {
        applyOwner(fd, owner);
      } finally {
        closeSync(fd);
      }
    });
  }

  private async makeSymlink({ root, ids, hostView }: InstanceRoot, path: string, h: FileWriteHeaders, target: string): Promise<void> {
    if (target === '' || target.includes('\0')) throw new InvalidArgumentError('A symlink needs a target (the request body)');
    await root.withEntry(path, false, (e) => {
      if (hostView) shiftCopiedUp(e, ids);
      if (e.name === '') throw new InvalidArgumentError(`"${path}" is a directory`);
      if (e.stat && !e.stat.isSymbolicLink()) throw new AlreadyExistsError(`"${path}" already exists`);
      // the target is stored as given: it is only ever resolved inside the instance
      const owner = plannedOwner(ids, h, null, 0o777);
      if (e.stat) unlinkSync(e.path);
      symlinkSync(target, e.path);
      lchownSync(e.path, owner.uid, owner.gid);
    });
  }
}

function existing(e: ResolvedEntry, path: string): Stats {
  if (!e.stat) throw new NotFoundError(`Path "${path}" not found`);
  return e.stat;
}

/**
 * Opens the entry without following a symlink, then checks it is still the inode the walk saw
 * (the container may have replaced it meanwhile). For the root itself (name ''), the directory
 * descriptor is reopened.
 */
function openVerified(e: ResolvedEntry, flags: number, seen?: Stats): number {
  const fd = openSync(e.path, flags | fsc.O_NOFOLLOW);
  const st = fstatSync(fd);
  if (seen && (st.ino !== seen.ino || st.dev !== seen.dev)) {
    closeSync(fd);
    throw new InvalidArgumentError('The path changed while it was being opened');
  }
  return fd;
}

function createExclusive(e: ResolvedEntry, path: string, flags: number, mode: number): number {
  try {
    return openSync(e.path, flags | fsc.O_CREAT | fsc.O_EXCL, mode);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new InvalidArgumentError(`"${path}" was created by someone else meanwhile`);
    throw err;
  }
}

interface HostOwner {
  uid: number;
  gid: number;
  mode: number;
}

/**
 * Owner (host ids) and mode to give an entry: the requested ones, else (existing entry) the
 * current ones, else root and the default mode. Worked out before anything is created, so an id
 * the instance's map cannot hold refuses the request with nothing made.
 */
function plannedOwner(ids: IdShift, h: FileWriteHeaders, before: Stats | null, defaultMode: number): HostOwner {
  const uid = h.uid ?? (before ? ids.uidToContainer(before.uid) : 0);
  const gid = h.gid ?? (before ? ids.gidToContainer(before.gid) : 0);
  return { uid: ids.uidToHost(uid), gid: ids.gidToHost(gid), mode: h.mode ?? (before ? before.mode & 0o7777 : defaultMode) };
}

/**
 * The owner is always written back, shifted: on a stopped instance a file copied up from the
 * image layer would otherwise keep the unshifted owner the host sees there.
 */
function applyOwner(fd: number, owner: HostOwner): void {
  fchownSync(fd, owner.uid, owner.gid);
  // chown clears set-id bits; the mode is set after it (and explicitly, not through the umask)
  fchmodSync(fd, owner.mode);
}

/**
 * Gives the directories above an entry their shifted owners (a no-op for those that have them).
 * Done before the write, whose copy-up would give them the unshifted ones: chown on the overlay
 * copies a directory up itself, already with the owner it is given.
 */
function shiftCopiedUp(e: ResolvedEntry, ids: IdShift): void {
  for (const fd of e.ancestors) {
    const st = fstatSync(fd);
    const want = ids.shiftedOwner(st.uid, st.gid);
    if (want.uid !== st.uid || want.gid !== st.gid) {
      // through the descriptor: the walk already checked this is the directory on the path
      chownSync(fdPath(fd), want.uid, want.gid);
      if (st.mode & 0o6000) chmodSync(fdPath(fd), st.mode & 0o7777);
    }
  }
}

/** Resolves once the stream's file descriptor is closed. */
function closed(stream: Readable | Writable): Promise<void> {
  return new Promise((resolve) => (stream.closed ? resolve() : stream.once('close', () => resolve())));
}

async function readSmall(body: Readable, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new InvalidArgumentError('Symlink target too long');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
