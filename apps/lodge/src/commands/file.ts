/** `lodge file push|pull`: POST/GET /1.0/instances/{name}/files?path= with the X-LXD-uid/gid/mode headers. */
import { createReadStream, createWriteStream, statSync, chmodSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import type { CliContext } from '../context';
import { headerMode, parseInstanceFile, parseMode, pullDestination, pushDestination } from './file-paths';
import { instancePath } from './instance-requests';

const filesPath = (name: string, path: string) => `${instancePath(name)}/files?path=${encodeURIComponent(path)}`;

function parseId(v: string): number {
  if (!/^\d+$/.test(v)) throw new Error(`Invalid id "${v}": expected a number`);
  return Number(v);
}

export function registerFile(program: Command, ctx: CliContext): void {
  const file = program.command('file').description('Copy files to and from instances');

  file
    .command('push')
    .description('Copy local files into an instance')
    .argument('<sources...>', 'local files, then the target [remote:]instance/path')
    .option('--uid <uid>', 'owner in the instance', parseId)
    .option('--gid <gid>', 'group in the instance', parseId)
    .option('--mode <mode>', "permissions (octal); the local file's by default", parseMode)
    .action(async (args: string[], o: { uid?: number; gid?: number; mode?: number }) => {
      if (args.length < 2) throw new Error('Missing target: lodge file push SOURCE... INSTANCE/PATH');
      const target = parseInstanceFile(args[args.length - 1]);
      const sources = args.slice(0, -1);
      const { client, name } = await ctx.target(target.instance);
      for (const src of sources) {
        const st = statSync(src);
        if (!st.isFile()) throw new Error(`${src} is not a regular file (recursive push is not supported)`);
        const headers: Record<string, string> = {
          'Content-Type': 'application/octet-stream',
          'X-LXD-type': 'file',
          'X-LXD-write': 'overwrite',
          'X-LXD-mode': `0${((o.mode ?? st.mode) & 0o7777).toString(8)}`,
        };
        if (o.uid !== undefined) headers['X-LXD-uid'] = String(o.uid);
        if (o.gid !== undefined) headers['X-LXD-gid'] = String(o.gid);
        const dest = pushDestination(target.path, src, sources.length > 1);
        await client.request('POST', filesPath(name, dest), { body: createReadStream(src), length: st.size, headers });
      }
    });

  file
    .command('pull')
    .description('Copy files out of an instance (- writes to stdout)')
    .argument('<sources...>', '[remote:]instance/path..., then the local target')
    .action(async (args: string[]) => {
      if (args.length < 2) throw new Error('Missing target: lodge file pull INSTANCE/PATH... TARGET');
      const dest = args[args.length - 1];
      const sources = args.slice(0, -1).map(parseInstanceFile);
      let destIsDir = false;
      try {
        destIsDir = statSync(dest).isDirectory();
      } catch {
        /* a new file */
      }
      if (sources.length > 1 && !destIsDir && dest !== '-') throw new Error(`Pulling several files needs an existing target directory, not ${dest}`);
      for (const src of sources) {
        const { client, name } = await ctx.target(src.instance);
        const res = await client.download(filesPath(name, src.path));
        if (res.headers['x-lxd-type'] === 'directory') {
          res.resume();
          throw new Error(`${src.path} is a directory (recursive pull is not supported)`);
        }
        if (dest === '-') {
          await pipeline(res, ctx.io.stdout, { end: false });
          continue;
        }
        const out = pullDestination(dest, src.path, destIsDir);
        await pipeline(res, createWriteStream(out));
        const mode = headerMode(res.headers['x-lxd-mode']);
        if (mode !== undefined) chmodSync(out, mode & 0o7777);
      }
    });
}
