/**
 * `lodge image import|list|alias|export|delete`. Import sends the file as the raw body (unified
 * tarball) or as multipart `metadata` + `rootfs` (split image), streamed from disk with a
 * progress line on a terminal; export writes what GET /1.0/images/{fp}/export returns.
 */
import { createReadStream, createWriteStream, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { LxdApiError } from '../client/lxd-error';
import { LxdClient } from '../client/lxd-client';
import { boundaryOf, multipartFraming, newBoundary, streamMultipart } from '../client/multipart';
import type { CliContext } from '../context';
import { humanBytes, Progress } from '../output/progress';
import { parseTarget } from '../remotes/target';
import { collect } from './instance-requests';
import { byName, listingCommand } from './listing-command';

interface Image {
  fingerprint: string;
  aliases?: Array<{ name: string; description?: string }> | null;
  public: boolean;
  properties?: Record<string, string> | null;
  architecture: string;
  type?: string;
  size: number;
  uploaded_at: string;
}

const imagePath = (fp: string) => `/1.0/images/${encodeURIComponent(fp)}`;

export const IMAGE_COLUMNS = ['ALIAS', 'FINGERPRINT', 'PUBLIC', 'DESCRIPTION', 'ARCHITECTURE', 'TYPE', 'SIZE', 'UPLOAD DATE'];

export function imageRow(i: Image): string[] {
  return [
    (i.aliases ?? []).map((a) => a.name).sort().join('\n'),
    i.fingerprint.slice(0, 12),
    i.public ? 'yes' : 'no',
    i.properties?.description ?? '',
    i.architecture,
    (i.type || 'container').toUpperCase().replace('-', ' '),
    humanBytes(i.size),
    uploadDate(i.uploaded_at),
  ];
}

/** `May 1, 2024 at 12:34pm (UTC)`, the way lxc prints upload dates. */
export function uploadDate(iso: string): string {
  const d = new Date(iso);
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const h = d.getUTCHours() % 12 || 12;
  const ampm = d.getUTCHours() < 12 ? 'am' : 'pm';
  return `${months[d.getUTCMonth()]} ${d.getUTCDate()}, ${d.getUTCFullYear()} at ${h}:${String(d.getUTCMinutes()).padStart(2, '0')}${ampm} (UTC)`;
}

/** An alias, or a unique fingerprint prefix, to the full fingerprint. */
export async function resolveImage(client: LxdClient, ref: string): Promise<string> {
  try {
    return (await client.get(`/1.0/images/aliases/${encodeURIComponent(ref)}`)).target;
  } catch (err) {
    if (!(err instanceof LxdApiError) || err.status !== 404) throw err;
  }
  const urls = await client.get<string[]>('/1.0/images');
  const matches = urls.map((u) => u.split('/').pop()!.split('?')[0]).filter((fp) => fp.startsWith(ref));
  if (matches.length === 0) throw new LxdApiError(404, `Image not found: ${ref}`);
  if (matches.length > 1) throw new Error(`More than one image matches ${ref}: give more of the fingerprint`);
  return matches[0];
}

/** The upload body: the unified file, or the multipart framing around metadata and rootfs. */
function uploadBody(files: string[]): { body: Readable; length: number; contentType: string } {
  if (files.length === 1) {
    return { body: createReadStream(files[0]), length: statSync(files[0]).size, contentType: 'application/octet-stream' };
  }
  const boundary = newBoundary();
  const parts = [
    { name: 'metadata', filename: basename(files[0]) },
    { name: 'rootfs', filename: basename(files[1]) },
  ];
  const { heads, tail } = multipartFraming(boundary, parts);
  const length = heads.reduce((n, h) => n + h.length, 0) + files.reduce((n, f) => n + statSync(f).size, 0) + tail.length;
  async function* frames() {
    for (let i = 0; i < files.length; i++) {
      yield heads[i];
      yield* createReadStream(files[i]) as AsyncIterable<Buffer>;
    }
    yield tail;
  }
  return { body: Readable.from(frames()), length, contentType: `multipart/form-data; boundary=${boundary}` };
}

/** Counts the bytes going through, for the progress line. */
function counting(progress: Progress): Transform {
  let done = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      done += chunk.length;
      progress.update(done);
      cb(null, chunk);
    },
  });
}

export function registerImage(program: Command, ctx: CliContext): void {
  const image = program.command('image').description('Manage images');

  image
    .command('import')
    .description('Import an image file (unified tarball), or a metadata tarball and a rootfs (split image)')
    .argument('<files...>', 'the image file(s), optionally followed by remote:')
    .option('--alias <name>', 'alias for the new image (repeatable)', collect, [])
    .option('--public', 'make the image available to untrusted clients')
    .action(async (args: string[], o: { alias: string[]; public?: boolean }) => {
      const files = [...args];
      const remote = files[files.length - 1].endsWith(':') ? parseTarget(files.pop()!).remote : undefined;
      if (files.length < 1 || files.length > 2) throw new Error('Expected one unified image file, or a metadata file and a rootfs file');
      const client = await ctx.connect(remote);
      const { body, length, contentType } = uploadBody(files);
      const progress = new Progress('Transferring image', length, ctx.io.stderr as NodeJS.WriteStream);
      const piped = body.pipe(counting(progress)).pipe(new PassThrough());
      body.on('error', (err) => piped.destroy(err));
      let op;
      try {
        op = await client.run('POST', '/1.0/images', {
          body: piped,
          length,
          headers: { 'Content-Type': contentType, 'X-LXD-filename': basename(files[0]), 'X-LXD-public': o.public ? '1' : '0' },
        });
      } finally {
        progress.done();
      }
      const fingerprint: string = op.metadata?.fingerprint;
      if (!fingerprint) throw new Error('The server did not return the fingerprint of the imported image');
      for (const alias of o.alias) {
        await client.request('POST', '/1.0/images/aliases', { json: { name: alias, target: fingerprint, description: '' } });
      }
      ctx.out(`Image imported with fingerprint: ${fingerprint}`);
    });

  listingCommand(image, ctx, async (client) => {
    const images = await client.get<Image[]>('/1.0/images?recursion=1');
    return { columns: IMAGE_COLUMNS, rows: images.map(imageRow), raw: images };
  });

  image
    .command('export')
    .description('Download an image into files (TARGET: a directory or a file name)')
    .argument('<image>', '[remote:]alias or fingerprint')
    .argument('[target]', 'where to write', '.')
    .action(async (arg: string, target: string) => {
      const { client, name } = await ctx.target(arg);
      const fp = await resolveImage(client, name);
      const res = await client.download(`${imagePath(fp)}/export`);
      let isDir = false;
      try {
        isDir = statSync(target).isDirectory();
      } catch {
        /* a new file */
      }
      const boundary = boundaryOf(res.headers['content-type']);
      if (boundary) {
        // the parts go straight to their files: metadata to TARGET (or its own name in a
        // directory), rootfs to TARGET.root (or its own name)
        const where = (part: { name: string; filename: string }) => {
          if (part.name === 'metadata') return isDir ? join(target, basename(part.filename) || `meta-${fp}.tar.xz`) : target;
          if (part.name === 'rootfs' || part.name === 'rootfs.img') return isDir ? join(target, basename(part.filename) || `${fp}.squashfs`) : `${target}.root`;
          throw new Error(`Unexpected part "${part.name}" in the image export`);
        };
        const written: string[] = [];
        try {
          const parts = await streamMultipart(res, boundary, (part) => {
            const path = where(part);
            written.push(path);
            return createWriteStream(path);
          });
          if (parts.length !== 2) throw new Error('The server sent an incomplete split image');
        } catch (err) {
          for (const f of written) rmSync(f, { force: true });
          throw err;
        }
      } else {
        const disposition = String(res.headers['content-disposition'] ?? '');
        const filename = /filename="?([^";]+)"?/.exec(disposition)?.[1] ?? `${fp}.tar.xz`;
        const path = isDir ? join(target, basename(filename)) : target;
        try {
          await pipeline(res, createWriteStream(path));
        } catch (err) {
          rmSync(path, { force: true });
          throw err;
        }
      }
      ctx.out('Image exported successfully!');
    });

  image
    .command('delete')
    .alias('rm')
    .argument('<images...>', '[remote:]alias or fingerprint')
    .action(async (args: string[]) => {
      for (const arg of args) {
        const { client, name } = await ctx.target(arg);
        await client.run('DELETE', imagePath(await resolveImage(client, name)));
      }
    });

  const alias = image.command('alias').description('Manage image aliases');

  alias
    .command('create')
    .argument('<alias>', '[remote:]alias')
    .argument('<image>', 'fingerprint (or a unique prefix) or another alias')
    .option('--description <text>', 'what the alias is for', '')
    .action(async (arg: string, ref: string, o: { description: string }) => {
      const { client, name } = await ctx.target(arg);
      await client.request('POST', '/1.0/images/aliases', { json: { name, target: await resolveImage(client, ref), description: o.description } });
    });

  listingCommand(alias, ctx, async (client) => {
    const aliases = (await client.get<Array<{ name: string; target: string; type?: string; description?: string }>>('/1.0/images/aliases?recursion=1')).sort(byName);
    const rows = aliases.map((a) => [a.name, a.target.slice(0, 12), (a.type || 'container').toUpperCase(), a.description ?? '']);
    return { columns: ['ALIAS', 'FINGERPRINT', 'TYPE', 'DESCRIPTION'], rows, raw: aliases };
  });

  alias
    .command('delete')
    .alias('rm')
    .argument('<alias>', '[remote:]alias')
    .action(async (arg: string) => {
      const { client, name } = await ctx.target(arg);
      await client.request('DELETE', `/1.0/images/aliases/${encodeURIComponent(name)}`);
    });
}
