/** `[remote:]instance/path` arguments of `lodge file`, and where pushed/pulled files land. */
import { basename, join } from 'node:path';

export interface InstanceFile {
  /** `[remote:]instance`, for CliContext.target */
  instance: string;
  /** absolute path inside the instance */
  path: string;
}

export function parseInstanceFile(arg: string): InstanceFile {
  const colon = arg.indexOf(':');
  const slash = arg.indexOf('/', colon + 1);
  if (slash <= colon + 1) throw new Error(`Invalid instance path "${arg}": expected [remote:]instance/path`);
  return { instance: arg.slice(0, slash), path: arg.slice(slash) };
}

/** Pushing into a directory (a path ending with /) keeps the source's name. */
export function pushDestination(target: string, source: string, manySources: boolean): string {
  if (target.endsWith('/')) return target + basename(source);
  if (manySources) throw new Error('Pushing several files needs a target directory ending with /');
  return target;
}

/** Pulling into an existing directory (or a path ending with /) keeps the source's name. */
export function pullDestination(dest: string, source: string, destIsDir: boolean): string {
  return destIsDir || dest.endsWith('/') ? join(dest, basename(source)) : dest;
}

/** `--mode 0644` / `644`: octal permission bits. */
export function parseMode(v: string): number {
  if (!/^0?[0-7]{3,4}$/.test(v)) throw new Error(`Invalid mode "${v}": expected octal permissions like 0644`);
  return parseInt(v, 8);
}

/** X-LXD-mode as servers send it: octal with a leading 0 (LXD), or decimal. */
export function headerMode(v: string | string[] | undefined): number | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  if (!s) return undefined;
  if (/^0[0-7]+$/.test(s)) return parseInt(s, 8);
  return /^\d+$/.test(s) ? Number(s) : undefined;
}
