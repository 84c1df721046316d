/** Runs a standard host tool; failures become SystemError("<tool>", "EXIT<n>" | errno, stderr). */
import { execFile } from 'node:child_process';
import { SystemError } from '@lodge/common';

export function runTool(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const code = (err as NodeJS.ErrnoException).code;
      const errno = typeof code === 'number' ? `EXIT${code}` : String(code ?? 'EFAIL');
      reject(new SystemError(cmd, errno, String(stderr || err.message).trim().slice(0, 2000), { cause: err }));
    });
  });
}
