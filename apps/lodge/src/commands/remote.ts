/**
 * `lodge remote add|list|remove|switch|get-default`. Adding a remote shows the server
 * certificate's fingerprint and pins it once accepted, then makes the server trust our client
 * certificate with its trust password (POST /1.0/certificates), as `lxc remote add` does.
 */
import { X509Certificate } from 'node:crypto';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { certFingerprint } from '../client/endpoint';
import { LxdClient } from '../client/lxd-client';
import type { CliContext } from '../context';
import { renderListing, parseFormat } from '../output/format';
import { LOCAL_REMOTE } from '../remotes/remote-config';
import { fetchServerCertificate, normalizeRemoteUrl } from '../remotes/server-certificate';

async function ask(ctx: CliContext, question: string): Promise<string> {
  const rl = createInterface({ input: ctx.io.stdin, output: ctx.io.stderr });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}

export function registerRemote(program: Command, ctx: CliContext): void {
  const remote = program.command('remote').description('Manage the remote servers this client talks to');

  remote
    .command('add')
    .argument('<name>')
    .argument('<url>', 'https://host[:8443]')
    .option('--password <password>', "the server's trust password (core.trust_password)")
    .option('--accept-certificate', "trust the server's certificate without asking")
    .action(async (name: string, addr: string, o: { password?: string; acceptCertificate?: boolean }) => {
      const config = ctx.config;
      const file = config.load();
      if (name === LOCAL_REMOTE || file.remotes[name]) throw new Error(`Remote ${name} exists as <${name === LOCAL_REMOTE ? 'unix socket' : file.remotes[name].addr}>`);
      const url = normalizeRemoteUrl(addr);
      const serverCert = await fetchServerCertificate(url);
      const fingerprint = certFingerprint(serverCert);
      ctx.err(`Certificate fingerprint: ${fingerprint}`);
      if (!o.acceptCertificate) {
        if (!ctx.io.stdin.isTTY) throw new Error('Certificate not accepted: pass --accept-certificate to trust it without a terminal');
        const answer = (await ask(ctx, 'ok (y/n/[fingerprint])? ')).toLowerCase();
        if (answer !== 'y' && answer !== 'yes' && answer !== fingerprint) throw new Error('Server certificate NACKed by user');
      }
      const id = await config.clientIdentity();
      const client = new LxdClient({ kind: 'https', url, clientCert: id.cert, clientKey: id.key, serverCert });
      let server = await client.get('/1.0');
      if (server.auth !== 'trusted') {
        const password = o.password ?? (ctx.io.stdin.isTTY ? await ask(ctx, `Admin password (or token) for ${name}: `) : undefined);
        if (!password) throw new Error(`The server does not trust this client yet: give its trust password with --password`);
        const certificate = new X509Certificate(id.cert).raw.toString('base64');
        await client.request('POST', '/1.0/certificates', { json: { type: 'client', certificate, name: clientName(ctx), password } });
        server = await client.get('/1.0');
        if (server.auth !== 'trusted') throw new Error("Server doesn't trust us after authentication");
      }
      config.saveServerCert(name, serverCert);
      file.remotes[name] = { addr: url };
      config.save(file);
      ctx.out(`Client certificate now trusted by server: ${name}`);
    });

  remote
    .command('list')
    .alias('ls')
    .option('-f, --format <format>', 'table, json, yaml or csv', parseFormat, 'table')
    .action((o: { format: ReturnType<typeof parseFormat> }) => {
      const file = ctx.config.load();
      const all = { [LOCAL_REMOTE]: { addr: `unix://${ctx.socketPath}` }, ...file.remotes };
      const rows = Object.entries(all)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([n, r]) => [n === file['default-remote'] ? `${n} (current)` : n, r.addr, 'lxd', n === LOCAL_REMOTE ? 'file access' : 'tls']);
      ctx.out(renderListing(o.format, { columns: ['NAME', 'URL', 'PROTOCOL', 'AUTH TYPE'], rows, raw: all }));
    });

  remote
    .command('remove')
    .alias('rm')
    .argument('<name>')
    .action((name: string) => {
      const config = ctx.config;
      const file = config.load();
      if (!file.remotes[name]) throw new Error(`Remote ${name} doesn't exist`);
      if (file['default-remote'] === name) throw new Error("Can't remove the default remote");
      delete file.remotes[name];
      config.save(file);
      config.removeServerCert(name);
    });

  remote
    .command('switch')
    .description('Make a remote the default')
    .argument('<name>')
    .action((name: string) => {
      const config = ctx.config;
      const file = config.load();
      if (name !== LOCAL_REMOTE && !file.remotes[name]) throw new Error(`Remote ${name} doesn't exist`);
      file['default-remote'] = name;
      config.save(file);
    });

  remote
    .command('get-default')
    .action(() => ctx.out(ctx.config.load()['default-remote']));
}

/** The name our certificate gets in the server's trust store. */
function clientName(ctx: CliContext): string {
  return `lodge-${ctx.io.env.USER || 'user'}`;
}
