/**
 * Kernel-generated files read over and over for the state of running containers (cgroup
 * counters, the /proc/<pid>/net views of a container's network namespace, its sysfs net
 * attributes), kept open and re-read with pread at offset 0. The kernel generates such a file
 * afresh on every read from offset 0, so the values are current, and a read is one syscall
 * instead of a path walk + open + read + close: an instance list with state over 1000 running
 * containers reads ~10 files each.
 *
 * Reads are synchronous on purpose: these files live in memory and never wait on a disk, and a
 * thread-pool round trip per file costs more than the read.
 */
// (libuv opens every file with O_CLOEXEC)
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

/** Largest file read (the ones read here are a few hundred bytes; fib_trie grows with addresses). */
const MAX_BYTES = 1 << 20;
const scratch = Buffer.allocUnsafe(64 * 1024);
const NAME_RE = /^[^/\0]{1,255}$/;

export interface FileReader {
  /** The file's text; undefined when it does not exist (or is not readable). */
  read(path: string): string | undefined;
}

/** Reads with a plain open/read/close each time (nothing kept open). */
export const directReader: FileReader = {
  read(path) {
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDONLY);
    } catch {
      return undefined;
    }
    return readAndClose(fd);
  },
};

export class PinnedFiles implements FileReader {
  private readonly fds = new Map<string, number>();
  private closed = false;

  /**
   * A host path the caller trusts (cgroupfs, /proc/<pid>/net/...): opened once, then re-read.
   * A file that cannot be opened is tried again next time (it may appear).
   */
  read(path: string): string | undefined {
    return this.readPinned(path, () => openSync(path, constants.O_RDONLY));
  }

  /**
   * A file inside a container's own root (`/proc/<pid>/root` + components), which the container
   * controls: every component is opened without following symlinks (a symlink to a host path
   * must not be read as the container's file), the last one non-blocking, and it must be a
   * regular file (a FIFO or device placed there must not stall or feed the daemon). A container
   * can still put fake files there: it only lies about itself.
   */
  readInContainer(pid: number, components: readonly string[]): string | undefined {
    if (!Number.isInteger(pid) || pid <= 0 || components.length === 0 || !components.every((c) => NAME_RE.test(c) && c !== '.' && c !== '..')) {
      return undefined;
    }
    const key = `/proc/${pid}/root//${components.join('/')}`;
    return this.readPinned(key, () => openBeneath(`/proc/${pid}/root`, components));
  }

  /** Closes every kept file (the container ended). Reads after this open and close each time. */
  close(): void {
    this.closed = true;
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }

  private readPinned(key: string, open: () => number): string | undefined {
    let fd = this.fds.get(key);
    if (fd === undefined) {
      try {
        fd = open();
      } catch {
        return undefined;
      }
      if (this.closed) return readAndClose(fd);
      this.fds.set(key, fd);
    }
    try {
      return preadAll(fd);
    } catch {
      // e.g. the interface behind a sysfs file went away: forget it, open afresh next time
      this.fds.delete(key);
      closeSync(fd);
      return undefined;
    }
  }
}

function readAndClose(fd: number): string | undefined {
  try {
    return preadAll(fd);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

function preadAll(fd: number): string {
  let n = readSync(fd, scratch, 0, scratch.length, 0);
  if (n < scratch.length) return scratch.toString('utf8', 0, n);
  const chunks = [Buffer.from(scratch.subarray(0, n))];
  let total = n;
  while (total < MAX_BYTES) {
    const chunk = Buffer.allocUnsafe(scratch.length);
    n = readSync(fd, chunk, 0, chunk.length, total);
    if (n === 0) break;
    chunks.push(chunk.subarray(0, n));
    total += n;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Opens root/components[0]/.../components[n-1] refusing symlinks at every step; a regular file. */
function openBeneath(root: string, components: readonly string[]): number {
  let dirFd = openSync(root, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    for (let i = 0; i < components.length; i++) {
      const last = i === components.length - 1;
      const flags = last
        ? constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK
        : constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_DIRECTORY;
      // /proc/self/fd/<dirfd> names the directory already opened: the next component is looked
      // up in it, not re-walked from a path the container could change meanwhile.
      const fd = openSync(`/proc/self/fd/${dirFd}/${components[i]}`, flags);
      closeSync(dirFd);
      dirFd = fd;
      if (last && !fstatSync(fd).isFile()) throw new Error('not a regular file');
    }
    return dirFd;
  } catch (err) {
    closeSync(dirFd);
    throw err;
  }
}
