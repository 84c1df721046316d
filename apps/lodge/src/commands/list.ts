/** `lodge list`: one GET /1.0/instances?recursion=2, printed as table, json, yaml or csv. */
import type { Command } from 'commander';
import type { CliContext } from '../context';
import { parseFormat, renderListing } from '../output/format';
import { parseTarget } from '../remotes/target';
import { FullInstance, LIST_COLUMNS, listRow, matchesFilters } from './list-view';

export function registerList(program: Command, ctx: CliContext): void {
  program
    .command('list')
    .alias('ls')
    .description('List instances ([remote:] [name-prefix|key=value...])')
    .argument('[filters...]')
    .option('-f, --format <format>', 'table, json, yaml or csv', parseFormat, 'table')
    .action(async (args: string[], o: { format: ReturnType<typeof parseFormat> }) => {
      let remote: string | undefined;
      const filters = [...args];
      if (filters[0]?.includes(':')) {
        const t = parseTarget(filters.shift()!);
        remote = t.remote;
        if (t.name) filters.unshift(t.name);
      }
      const client = await ctx.connect(remote);
      const all = await client.get<FullInstance[]>('/1.0/instances?recursion=2');
      const shown = all.filter((i) => matchesFilters(i, filters)).sort((a, b) => a.name.localeCompare(b.name));
      ctx.out(renderListing(o.format, { columns: LIST_COLUMNS, rows: shown.map(listRow), raw: shown }));
    });
}
