/**
 * Small async file helpers for cgroupfs, shared by both backends. Every failure becomes a
 * SystemError whose step names the cgroup file ("write memory.max: EINVAL (...)").
 *
 * Writes open the file O_WRONLY|O_TRUNC without O_CREAT: on a real cgroupfs an interface file the
 * kernel did not create (controller missing) fails with ENOENT instead of silently creating
 * something, and a fake tree in a temp dir (unit tests) behaves the same way.
 */
import { chownSync, constants, promises as fsp } from 'fs';
import { basename, join } from 'path';
import { DomainError, SystemError } from '@lodge/common';
import type { FileReader } from '../probes/pinned-files';

const WRITE_FLAGS = constants.O_WRONLY | constants.O_TRUNC;

/** The errno name of a Node fs error, or of a SystemError built from one. */
export function errnoOf(err: unknown): string {
  if (err instanceof SystemError) return err.errno;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : 'EIO';
}

export function isErrno(err: unknown, ...codes: string[]): boolean {
  return codes.includes(errnoOf(err));
}

/** Wraps a non-domain error into a SystemError; domain errors pass through unchanged. */
export function asSystemError(step: string, err: unknown, detail?: string): Error {
  if (err instanceof DomainError) return err;
  return new SystemError(step, errnoOf(err), detail, { cause: err });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes one value with one write(2). */
export async function writeValue(file: string, value: string): Promise<void> {
  try {
    await fsp.writeFile(file, value, { flag: WRITE_FLAGS });
  } catch (err) {
    throw asSystemError(`write ${basename(file)}`, err, `${file} <- ${JSON.stringify(value)}`);
  }
}

/**
 * Writes several values to one file, one write(2) each, through a single open file (devices.allow
 * takes one rule per write). `onError` may swallow a failed line by returning normally; by default
 * the first failure throws.
 */
export async function writeLines(
  file: string,
  lines: readonly string[],
  onError?: (line: string, err: unknown) => void,
): Promise<void> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, WRITE_FLAGS);
  } catch (err) {
    throw asSystemError(`open ${basename(file)}`, err, file);
  }
  try {
    for (const line of lines) {
      try {
        await fh.write(line);
      } catch (err) {
        if (!onError) throw asSystemError(`write ${basename(file)}`, err, `${file} <- ${JSON.stringify(line)}`);
        onError(line, err);
      }
    }
  } finally {
    await fh.close();
  }
}

/** Reads a file and trims it. */
export async function readValue(file: string): Promise<string> {
  try {
    return (await fsp.readFile(file, 'utf8')).trim();
  } catch (err) {
    throw asSystemError(`read ${basename(file)}`, err, file);
  }
}

/** Like readValue, but undefined when the file does not exist. */
export async function readOptional(file: string): Promise<string | undefined> {
  try {
    return (await fsp.readFile(file, 'utf8')).trim();
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw asSystemError(`read ${basename(file)}`, err, file);
  }
}

/**
 * Reads a single integer; "max" reads as Infinity. With `dflt` a missing file reads as `dflt`,
 * without it a missing file throws (SystemError ENOENT).
 */
export async function readNumber(file: string, dflt?: number): Promise<number> {
  return parseNumber(file, dflt === undefined ? await readValue(file) : await readOptional(file), dflt);
}

/**
 * readNumber through a FileReader: the statistics of running containers are read through their
 * kept-open files (see PinnedFiles), synchronously, as an instance list reads them all at once.
 */
export function readNumberWith(reader: FileReader, file: string, dflt?: number): number {
  const text = reader.read(file)?.trim();
  if (text === undefined && dflt === undefined) throw new SystemError(`read ${basename(file)}`, 'ENOENT', file);
  return parseNumber(file, text, dflt);
}

function parseNumber(file: string, text: string | undefined, dflt?: number): number {
  if (text === undefined || text === '') return dflt ?? 0;
  if (text === 'max') return Infinity;
  const n = Number(text);
  if (!Number.isFinite(n)) throw new SystemError(`parse ${basename(file)}`, 'EINVAL', `${file}: ${JSON.stringify(text)}`);
  return n;
}

/** Awaits every promise (so nothing is left in flight) and then throws the first rejection, if any. */
export async function settleAll(promises: readonly Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** true when `path` is an existing directory. */
export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await fsp.stat(path)).isDirectory();
  } catch (err) {
    if (isErrno(err, 'ENOENT', 'ENOTDIR')) return false;
    throw asSystemError('stat', err, path);
  }
}

/** Parses "key value" lines (cgroup.events, memory.events, cpu.stat, memory.oom_control). */
export function parseKeyed(text: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined) out.set(k, Number(v));
  }
  return out;
}

/** mkdir; true when created, false when it already existed. */
export async function mkdirIfMissing(dir: string): Promise<boolean> {
  try {
    await fsp.mkdir(dir);
    return true;
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    throw asSystemError('mkdir', err, dir);
  }
}

/** Names of the subdirectories of `dir` (child cgroups); [] when `dir` does not exist. */
export async function listSubdirs(dir: string): Promise<string[]> {
  try {
    const entries = await fsp.readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw asSystemError('readdir', err, dir);
  }
}

/** Pids in `dir`/cgroup.procs and in every descendant cgroup; [] for a cgroup that is gone. */
export async function readProcsTree(dir: string): Promise<number[]> {
  const [own, subdirs] = await Promise.all([readOptional(join(dir, 'cgroup.procs')), listSubdirs(dir)]);
  const pids = (own ?? '')
    .split('\n')
    .filter(Boolean)
    .map(Number);
  const nested = await Promise.all(subdirs.map((d) => readProcsTree(join(dir, d))));
  return pids.concat(...nested);
}

/**
 * Polls `check` with a short, growing sleep (1 ms doubling to 25 ms) until it returns true or
 * `timeoutMs` passed. Returns whether it succeeded.
 */
export async function pollUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(delay);
    delay = Math.min(delay * 2, 25);
  }
}

/**
 * Removes a cgroup directory and its descendant cgroups (deepest first). rmdir is tried first (the
 * common case: no children); EBUSY/ENOTEMPTY with child cgroups removes those and retries, EBUSY
 * from tasks still exiting is retried with a short backoff until `deadline` (epoch ms). A directory
 * that is already gone counts as removed.
 */
export async function removeCgroupTree(
  dir: string,
  deadline: number,
  beforeRmdir?: (dir: string) => void | Promise<void>,
): Promise<void> {
  let delay = 1;
  for (;;) {
    try {
      if (beforeRmdir) await beforeRmdir(dir);
      await fsp.rmdir(dir);
      return;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return;
      if (!isErrno(err, 'EBUSY', 'ENOTEMPTY')) throw asSystemError('rmdir', err, dir);
      const subdirs = await listSubdirs(dir);
      if (subdirs.length > 0) {
        await settleAll(subdirs.map((d) => removeCgroupTree(join(dir, d), deadline, beforeRmdir)));
        continue;
      }
      if (Date.now() >= deadline) throw asSystemError('rmdir', err, dir);
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 25);
  }
}

/** SIGKILL each pid; a pid that already exited is fine. */
export function killPids(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (err) {
      if (!isErrno(err, 'ESRCH')) throw asSystemError('kill', err, `pid ${pid}`);
    }
  }
}

/** An async setup that runs once; a failed run, or reset(), lets the next call run it again. */
export class OnceSetup {
  private done?: Promise<void>;
  constructor(private readonly setup: () => Promise<void>) {}

  run(): Promise<void> {
    this.done ??= this.setup().catch((err) => {
      this.done = undefined;
      throw err;
    });
    return this.done;
  }

  reset(): void {
    this.done = undefined;
  }
}

/**
 * chown a cgroup's directories and its delegation files (those that exist) to uid:gid.
 * Synchronous on purpose: a few dozen chowns on cgroupfs take microseconds each, far less than
 * a round trip through the thread pool per call, and this sits in every container start.
 */
export async function delegateCgroupDirs(dirs: readonly string[], files: readonly string[], uid: number, gid: number): Promise<void> {
  for (const dir of dirs) {
    try {
      chownSync(dir, uid, gid);
    } catch (err) {
      throw asSystemError('chown', err, dir);
    }
    for (const f of files) {
      try {
        chownSync(join(dir, f), uid, gid);
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw asSystemError('chown', err, join(dir, f));
      }
    }
  }
}
