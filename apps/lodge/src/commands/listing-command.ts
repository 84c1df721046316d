/** The `list` subcommand of a group: an optional `remote:` argument, `--format`, one fetch. */
import type { Command } from 'commander';
import type { LxdClient } from '../client/lxd-client';
import type { CliContext } from '../context';
import { Format, Listing, parseFormat, renderListing } from '../output/format';
import { parseTarget } from '../remotes/target';

export function listingCommand(parent: Command, ctx: CliContext, fetch: (client: LxdClient) => Promise<Listing>): Command {
  return parent
    .command('list')
    .alias('ls')
    .argument('[remote]', 'remote: to list')
    .option('-f, --format <format>', 'table, json, yaml or csv', parseFormat, 'table')
    .action(async (remote: string | undefined, o: { format: Format }) => {
      const client = await ctx.connect(remote ? parseTarget(remote).remote : undefined);
      ctx.out(renderListing(o.format, await fetch(client)));
    });
}

export const byName = <T extends { name: string }>(a: T, b: T) => a.name.localeCompare(b.name);
