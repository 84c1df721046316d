/** `lodge info [[remote:]NAME] [--show-log]`: an instance's state, or the server's when no name is given. */
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { readAll } from '../client/lxd-client';
import type { CliContext } from '../context';
import { renderInfo } from './info-view';
import { instancePath } from './instance-requests';

export function registerInfo(program: Command, ctx: CliContext): void {
  program
    .command('info')
    .description("Show an instance's state, or the server's information")
    .argument('[name]', '[remote:]instance')
    .option('--show-log', "also print the instance's log (lxc.log)")
    .action(async (arg: string | undefined, o: { showLog?: boolean }) => {
      const { client, name } = await ctx.target(arg ?? '');
      if (!name) {
        ctx.out(stringify(await client.get('/1.0')));
        return;
      }
      ctx.out(renderInfo(await client.get(`${instancePath(name)}?recursion=1`)));
      if (o.showLog) {
        const log = await readAll(await client.download(`${instancePath(name)}/logs/lxc.log`));
        ctx.out(`\nLog:\n\n${log.toString('utf8')}`);
      }
    });
}
