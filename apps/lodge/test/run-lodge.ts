/** Runs the real `lodge` binary (bin/lodge.js) as a user would, with its own config dir. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { CommandResult, runCommand } from '../../lodged/test/support';

export const LODGE_BIN = join(__dirname, '..', '..', '..', 'bin', 'lodge.js');

export type LodgeResult = CommandResult;

/** Never throws: the exit code tells. stdin gets `input` (or nothing) and is then closed. */
export function runLodge(env: NodeJS.ProcessEnv, args: string[], input?: string | Buffer): Promise<LodgeResult> {
  return runCommand(process.execPath, [LODGE_BIN, ...args], env, { input });
}

/** A `lodge` bound to one daemon dir and one config dir; ok() fails the test on a non-zero exit. */
export function lodgeFor(env: () => NodeJS.ProcessEnv) {
  const lodge = (...args: string[]) => runLodge(env(), args);
  const withInput = (input: string, ...args: string[]) => runLodge(env(), args, input);
  const ok = async (...args: string[]): Promise<string> => {
    const r = await lodge(...args);
    if (r.code !== 0) throw new Error(`lodge ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  };
  return { lodge, withInput, ok };
}

export function baseEnv(home: string, dir?: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, LODGE_CONF: join(home, 'lodge-conf'), ...(dir ? { LODGE_DIR: dir } : {}) };
}

/**
 * Runs `lodge` on a real terminal: util-linux `script` gives it a pty for stdin and stdout (with
 * the given size), as a user at a terminal has. Output is what the terminal showed (stderr
 * included); the exit code is lodge's.
 */
export function runLodgeOnTty(env: NodeJS.ProcessEnv, args: string[], size = { rows: 24, cols: 80 }): Promise<{ code: number; screen: string }> {
  const quoted = [process.execPath, LODGE_BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = execFile('script', ['-qec', `stty rows ${size.rows} cols ${size.cols}; ${quoted}`, '/dev/null'], { env }, (err, stdout) => {
      if (err && typeof (err as { code?: unknown }).code !== 'number') return reject(err);
      resolve({ code: err ? Number((err as { code?: unknown }).code) : 0, screen: stdout });
    });
    child.stdin?.end();
  });
}
