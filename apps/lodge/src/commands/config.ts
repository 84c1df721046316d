/**
 * `lodge config get|set|unset|show|edit [remote:]NAME ...`: instance config through GET + PUT
 * with the ETag (a concurrent change makes the PUT fail instead of being overwritten).
 * With `remote:` and no name, the server's own config (GET /1.0, PATCH /1.0).
 */
import type { Command } from 'commander';
import type { LxdClient } from '../client/lxd-client';
import type { CliContext } from '../context';
import { parseSetArgs } from '../parse/key-value';
import { fromYaml, INSTANCE_WRITABLE, pick, toYaml } from '../parse/yaml-edit';
import { editLoop } from './edit-loop';
import { instancePath } from './instance-requests';

/** GET an object, change its writable part, PUT it back with If-Match. */
export async function updateWithEtag(
  client: LxdClient,
  path: string,
  fields: readonly string[],
  change: (writable: Record<string, any>) => Record<string, any>,
): Promise<void> {
  const { metadata, etag } = await client.request('GET', path);
  const body = change(pick(metadata, fields));
  await client.run('PUT', path, { json: body, headers: etag ? { 'If-Match': etag } : {} });
}

export function registerConfig(program: Command, ctx: CliContext): void {
  const config = program.command('config').description('Manage instance and server configuration');

  config
    .command('get')
    .description('Print one config key of an instance (or of the server with remote:)')
    .argument('<name>', '[remote:]instance, or remote: for the server')
    .argument('<key>')
    .action(async (arg: string, key: string) => {
      const { client, name } = await ctx.target(arg);
      const obj = await client.get(name ? instancePath(name) : '/1.0');
      const v = obj.config?.[key];
      ctx.out(v === undefined || v === null ? '' : String(v));
    });

  config
    .command('set')
    .description('Set config keys: NAME KEY VALUE, or NAME KEY=VALUE...')
    .argument('<name>', '[remote:]instance, or remote: for the server')
    .argument('<pairs...>')
    .action(async (arg: string, pairs: string[]) => {
      const values = parseSetArgs(pairs);
      const { client, name } = await ctx.target(arg);
      if (!name) {
        await client.request('PATCH', '/1.0', { json: { config: values } });
        return;
      }
      await updateWithEtag(client, instancePath(name), INSTANCE_WRITABLE, (w) => ({ ...w, config: { ...w.config, ...values } }));
    });

  config
    .command('unset')
    .description('Remove a config key')
    .argument('<name>', '[remote:]instance, or remote: for the server')
    .argument('<key>')
    .action(async (arg: string, key: string) => {
      const { client, name } = await ctx.target(arg);
      if (!name) {
        await client.request('PATCH', '/1.0', { json: { config: { [key]: '' } } });
        return;
      }
      await updateWithEtag(client, instancePath(name), INSTANCE_WRITABLE, (w) => {
        if (!(key in (w.config ?? {}))) throw new Error(`Can't unset key '${key}', it's not currently set`);
        const { [key]: _removed, ...rest } = w.config;
        return { ...w, config: rest };
      });
    });

  config
    .command('show')
    .description("Print an instance's configuration as YAML")
    .argument('<name>', '[remote:]instance')
    .option('--expanded', 'with the profiles applied')
    .action(async (arg: string, o: { expanded?: boolean }) => {
      const { client, name } = await ctx.target(arg);
      if (!name) {
        ctx.out(toYaml({ config: (await client.get('/1.0')).config }));
        return;
      }
      const inst = await client.get(instancePath(name));
      const shown = pick(inst, INSTANCE_WRITABLE);
      if (o.expanded) Object.assign(shown, { config: inst.expanded_config, devices: inst.expanded_devices });
      ctx.out(toYaml(shown));
    });

  config
    .command('edit')
    .description("Edit an instance's configuration as YAML ($EDITOR, or stdin when not a terminal)")
    .argument('<name>', '[remote:]instance')
    .action(async (arg: string) => {
      const { client, name } = await ctx.target(arg);
      if (!name) throw new Error('Editing the server configuration is not supported: use config set/unset');
      const path = instancePath(name);
      const { metadata, etag } = await client.request('GET', path);
      await editLoop(ctx, toYaml(pick(metadata, INSTANCE_WRITABLE)), async (text) => {
        await client.run('PUT', path, { json: fromYaml(text, INSTANCE_WRITABLE), headers: etag ? { 'If-Match': etag } : {} });
      });
    });
}
