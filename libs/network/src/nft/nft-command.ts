/**
 * Runs the `nft` tool. Scripts go in on stdin (`nft -f -`): nft applies a whole script as one
 * kernel transaction, so a network's rules change all at once or not at all.
 */
import { spawn } from 'node:child_process';
import { SystemError } from '@lodge/common';

export interface NftResult {
  stdout: string;
  stderr: string;
}

function run(args: string[], input?: string): Promise<NftResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('nft', args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => reject(new SystemError('nft', (err as NodeJS.ErrnoException).code ?? 'EIO', err.message, { cause: err })));
    child.on('close', (code) => {
      if (code === 0) resolve({ stdout, stderr });
      else reject(new SystemError(`nft ${args.join(' ')}`, `exit ${code}`, stderr.trim()));
    });
    if (input !== undefined) {
      // nft may exit on a parse error before reading everything; its exit status tells why
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(input);
    }
  });
}

/** Applies a script atomically. */
export async function nftApply(script: string): Promise<void> {
  await run(['-f', '-'], script);
}

/** `nft -j <args>` parsed: the objects of its `nftables` array. */
export async function nftJson(args: string[]): Promise<Array<Record<string, unknown>>> {
  const { stdout } = await run(['-j', ...args]);
  const parsed = JSON.parse(stdout) as { nftables?: Array<Record<string, unknown>> };
  return parsed.nftables ?? [];
}
