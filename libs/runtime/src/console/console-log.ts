/**
 * The console log: init's stdout/stderr and the container's /dev/console all land in one regular
 * file on the host. A file never blocks its writer and needs no reader, so nothing is lost while
 * the daemon is down or restarting. Where the filesystem supports it the file is append-only
 * (chattr +a): a process that opens /dev/console without O_APPEND gets EPERM instead of
 * overwriting the start of the log.
 */
import { closeSync, existsSync, fchownSync, fstatSync, openSync, readFileSync, renameSync, statSync } from 'node:fs';
import { loadNativeAddon } from '../native/native-binding';

export interface ConsoleLog {
  path: string;
  /** fd of the log opened O_APPEND; the runtime closes it once init has it. */
  fd: number;
}

/** Opens (creating) the log; rotates the previous one to `<path>.1` when it is over `rotateBytes`. */
export function openConsoleLog(path: string, owner: { uid: number; gid: number }, rotateBytes = 1 << 20): ConsoleLog {
  const addon = loadNativeAddon();
  if (existsSync(path) && statSync(path).size > rotateBytes) {
    const old = openSync(path, 'r');
    try {
      addon.setAppendOnly(old, false);
    } finally {
      closeSync(old);
    }
    renameSync(path, `${path}.1`);
  }
  const fd = openSync(path, 'a', 0o600);
  try {
    // The container's root must be able to open /dev/console (a bind of this file). An
    // append-only file cannot change owner: lift the flag for the chown (a restart with a new
    // id map), then set it again.
    const st = fstatSync(fd);
    if (st.uid !== owner.uid || st.gid !== owner.gid) {
      addon.setAppendOnly(fd, false);
      fchownSync(fd, owner.uid, owner.gid);
    }
    addon.setAppendOnly(fd, true);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return { path, fd };
}

/** The last `maxBytes` of the log (all of it by default). */
export function readConsoleLog(path: string, maxBytes?: number): string {
  if (!existsSync(path)) return '';
  const buf = readFileSync(path);
  return (maxBytes !== undefined && buf.length > maxBytes ? buf.subarray(buf.length - maxBytes) : buf).toString('utf8');
}

/** Clears the append-only flag so the log can be deleted with the container. */
export function releaseConsoleLog(path: string): void {
  if (!existsSync(path)) return;
  const fd = openSync(path, 'r');
  try {
    loadNativeAddon().setAppendOnly(fd, false);
  } finally {
    closeSync(fd);
  }
}
