#!/usr/bin/env node
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { DEFAULT_NETWORK } from '@lodge/network';
import { ServerConfigRepository } from '@lodge/state';
import { engineModules } from './api-modules';
import { startDaemon } from './bootstrap';
import { requireHttpUrl } from './nova/endpoint-url';
import { placementOptionsFromEnv } from './nova/placement-options';
import { openDatabase } from './persistence/database';
import { PgCertificateStore } from './persistence/pg-certificate.store';
import { PgServerConfigStore } from './persistence/pg-server-config.store';

/**
 * lodged: the Lodge daemon. `lodged --dir /var/lib/lodge` (or LODGE_DIR). LODGE_CGROUP_PARENT
 * names the cgroup its containers live under (default "lodge"; tests give each daemon its own).
 */
async function main(): Promise<void> {
  const program = new Command()
    .name('lodged')
    .description('Lodge daemon: LXD 1.0-compatible REST API on <dir>/unix.socket')
    .option('--dir <path>', 'state directory (unix.socket, server.crt/.key)', process.env.LODGE_DIR || '/var/lib/lodge')
    .option(
      '--database-url <url>',
      'external PostgreSQL (postgres://user@host/db); default: a private PostgreSQL under <dir>/database',
      process.env.LODGE_DATABASE_URL || undefined,
    )
    .option(
      '--default-network <cidr|auto|none>',
      `first start only: the ${DEFAULT_NETWORK.name} bridge's ipv4.address (default ${DEFAULT_NETWORK.ipv4Address}), "auto", or "none" for no default network`,
      process.env.LODGE_DEFAULT_NETWORK || DEFAULT_NETWORK.ipv4Address,
    )
    .option('--amqp-url <url>', 'serve as a nova-compute host on this RabbitMQ (rabbit://user:pass@host:port/vhost)', process.env.LODGE_AMQP_URL || undefined)
    .option('--nova-host <name>', "the compute host name nova knows this host by (nova's CONF.host)", process.env.LODGE_NOVA_HOST || undefined)
    .option('--glance-url <url>', 'the Glance v2 endpoint nova images not on this host are downloaded from', process.env.LODGE_GLANCE_URL || undefined)
    .option(
      '--placement-url <url>',
      "report this host's inventory to placement at this endpoint; credentials from the environment: LODGE_PLACEMENT_TOKEN, or LODGE_KEYSTONE_AUTH_URL, _USERNAME, _PASSWORD, _PROJECT_NAME",
      process.env.LODGE_PLACEMENT_URL || undefined,
    )
    .option('--quiet', 'no request/startup logging')
    .parse(process.argv);
  const opts = program.opts<{ dir: string; databaseUrl?: string; quiet?: boolean; defaultNetwork: string; amqpUrl?: string; novaHost?: string; glanceUrl?: string; placementUrl?: string }>();
  if (opts.novaHost && !opts.amqpUrl) throw new Error('--nova-host needs --amqp-url');
  if (opts.glanceUrl && !opts.amqpUrl) throw new Error('--glance-url needs --amqp-url');
  if (opts.placementUrl && !opts.amqpUrl) throw new Error('--placement-url needs --amqp-url');
  const placement = opts.placementUrl ? placementOptionsFromEnv(opts.placementUrl) : undefined;
  if (opts.glanceUrl) requireHttpUrl('--glance-url', opts.glanceUrl);
  const defaultNetwork = opts.defaultNetwork === 'none' ? false : { name: DEFAULT_NETWORK.name, ipv4Address: opts.defaultNetwork };
  opts.dir = resolve(opts.dir);

  const db = await openDatabase({ dir: opts.dir, url: opts.databaseUrl });
  let daemon;
  try {
    daemon = await startDaemon({
      dir: opts.dir,
      logger: !opts.quiet,
      nova: opts.amqpUrl ? { amqpUrl: opts.amqpUrl, host: opts.novaHost || hostname(), stateDir: opts.dir, glance: opts.glanceUrl ? { url: opts.glanceUrl } : undefined, placement } : undefined,
      serverConfigStore: new PgServerConfigStore(new ServerConfigRepository(db.dataSource)),
      certificateStore: new PgCertificateStore(db.dataSource),
      modules: engineModules({
        dir: opts.dir,
        dataSource: db.dataSource,
        cgroupParent: process.env.LODGE_CGROUP_PARENT || undefined,
        defaultNetwork,
      }),
    });
  } catch (err) {
    await db.close();
    throw err;
  }
  process.stderr.write(`lodged: listening on ${daemon.socketPath}, database ${db.description}\n`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`lodged: ${signal}, shutting down\n`);
    daemon.close().then(() => db.close()).then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`lodged: shutdown failed: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err) => {
  process.stderr.write(`lodged: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
