/** `lodge profile create|list|show|edit|assign|delete`: /1.0/profiles, edits with the ETag. */
import type { Command } from 'commander';
import type { CliContext } from '../context';
import { fromYaml, INSTANCE_WRITABLE, pick, PROFILE_WRITABLE, toYaml } from '../parse/yaml-edit';
import { updateWithEtag } from './config';
import { editLoop } from './edit-loop';
import { instancePath } from './instance-requests';
import { byName, listingCommand } from './listing-command';

const profilePath = (name: string) => `/1.0/profiles/${encodeURIComponent(name)}`;

interface Profile {
  name: string;
  description: string;
  used_by?: string[] | null;
}

export function profileRow(p: Profile): string[] {
  return [p.name, p.description ?? '', String(p.used_by?.length ?? 0)];
}

/** `p1,p2` to a list; the empty string means no profiles at all. */
export function parseProfileList(v: string): string[] {
  return v === '' ? [] : v.split(',').map((p) => p.trim()).filter(Boolean);
}

export function registerProfile(program: Command, ctx: CliContext): void {
  const profile = program.command('profile').description('Manage profiles');

  profile
    .command('create')
    .argument('<name>', '[remote:]profile')
    .option('--description <text>', 'what the profile is for', '')
    .action(async (arg: string, o: { description: string }) => {
      const { client, name } = await ctx.target(arg);
      await client.request('POST', '/1.0/profiles', { json: { name, description: o.description, config: {}, devices: {} } });
      ctx.out(`Profile ${name} created`);
    });

  listingCommand(profile, ctx, async (client) => {
    const profiles = (await client.get<Profile[]>('/1.0/profiles?recursion=1')).sort(byName);
    return { columns: ['NAME', 'DESCRIPTION', 'USED BY'], rows: profiles.map(profileRow), raw: profiles };
  });

  profile
    .command('show')
    .argument('<name>', '[remote:]profile')
    .action(async (arg: string) => {
      const { client, name } = await ctx.target(arg);
      const p = await client.get(profilePath(name));
      ctx.out(toYaml({ ...pick(p, PROFILE_WRITABLE), name: p.name, used_by: p.used_by ?? [] }));
    });

  profile
    .command('edit')
    .description('Edit a profile as YAML ($EDITOR, or stdin when not a terminal)')
    .argument('<name>', '[remote:]profile')
    .action(async (arg: string) => {
      const { client, name } = await ctx.target(arg);
      const { metadata, etag } = await client.request('GET', profilePath(name));
      await editLoop(ctx, toYaml(pick(metadata, PROFILE_WRITABLE)), async (text) => {
        await client.run('PUT', profilePath(name), { json: fromYaml(text, PROFILE_WRITABLE), headers: etag ? { 'If-Match': etag } : {} });
      });
    });

  profile
    .command('assign')
    .description("Replace an instance's profiles (comma-separated, in order; \"\" for none)")
    .argument('<instance>', '[remote:]instance')
    .argument('<profiles>')
    .action(async (arg: string, list: string) => {
      const { client, name } = await ctx.target(arg);
      const profiles = parseProfileList(list);
      await updateWithEtag(client, instancePath(name), INSTANCE_WRITABLE, (w) => ({
        ...w,
        profiles,
      }));
      ctx.out(profiles.length ? `Profiles ${profiles.join(', ')} applied to ${name}` : `Profiles removed from ${name}`);
    });

  profile
    .command('delete')
    .alias('rm')
    .argument('<name>', '[remote:]profile')
    .action(async (arg: string) => {
      const { client, name } = await ctx.target(arg);
      await client.request('DELETE', profilePath(name));
      ctx.out(`Profile ${name} deleted`);
    });
}
