/** Host helpers for drivers: running standard tools, reading the mount table, walking trees. */
import { execFile } from 'node:child_process';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SystemError } from '@lodge/common';

/** Runs a host tool; a failure becomes SystemError("<tool>", "EXIT<code>", stderr). */
export function runTool(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const code = (err as NodeJS.ErrnoException).code;
      const errno = typeof code === 'number' ? `EXIT${code}` : String(code ?? 'EFAIL');
      reject(new SystemError(cmd, errno, String(stderr || err.message).trim().slice(0, 2000), { cause: err }));
    });
  });
}

interface HostMountAddon {
  mountOverlay(target: string, options: string): Promise<void>;
  bindMount(source: string, target: string): Promise<void>;
  unmount(target: string, lazy: boolean): Promise<void>;
}

let addon: HostMountAddon | undefined;
function native(): HostMountAddon {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  addon ??= require('@lodge/native') as HostMountAddon;
  return addon;
}

/** The addon's errors ({code, step}) as SystemError, as runTool's are. */
async function viaAddon(what: string, call: () => Promise<void>): Promise<void> {
  try {
    await call();
  } catch (err) {
    const e = err as { code?: string; step?: string; message?: string };
    // the addon's message is "<step>: <strerror>"; the step is said once
    const detail = e.step && e.message?.startsWith(`${e.step}: `) ? e.message.slice(e.step.length + 2) : e.message;
    throw new SystemError(e.step ?? what, e.code ?? 'EIO', detail ?? String(err), { cause: err });
  }
}

/**
 * Host mounts made by the daemon itself through the addon (mount(2) on libuv's threadpool):
 * mount(8) would fork the daemon, which blocks its event loop for milliseconds per call.
 */
export const hostMounts = {
  overlay: (target: string, options: string) => viaAddon('mount overlay', () => native().mountOverlay(target, options)),
  bind: (source: string, target: string) => viaAddon('mount --bind', () => native().bindMount(source, target)),
  unmount: (target: string, o: { lazy?: boolean } = {}) => viaAddon('umount', () => native().unmount(target, !!o.lazy)),
};

/** Decodes the octal escapes (\040 etc.) mountinfo uses in paths. */
function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Mount points in this process's mount namespace. */
export async function mountPoints(): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => unescapeMountPath(l.split(' ')[4]));
}

export async function isMountPoint(path: string): Promise<boolean> {
  return (await mountPoints()).includes(path);
}

/** Mount points at or below `dir`. */
export async function mountsUnder(dir: string): Promise<string[]> {
  return (await mountPoints()).filter((m) => m === dir || m.startsWith(dir + '/'));
}

/** Apparent bytes of everything below `dir` (files and symlinks), never following symlinks. */
export async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop()!;
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.isFile() || e.isSymbolicLink()) total += (await lstat(p)).size;
    }
  }
  return total;
}
