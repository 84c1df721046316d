/** launch, init, start, stop, restart, pause, delete. */
import type { Command } from 'commander';
import { LxdApiError } from '../client/lxd-error';
import type { LxdClient } from '../client/lxd-client';
import type { CliContext } from '../context';
import { parseTarget } from '../remotes/target';
import { collect, createBody, CreateFlags, ImageSource, instancePath, parseTimeout, stateBody, StateAction } from './instance-requests';

export function registerLifecycle(program: Command, ctx: CliContext): void {
  for (const [verb, start] of [
    ['launch', true],
    ['init', false],
  ] as const) {
    program
      .command(verb)
      .description(start ? 'Create and start an instance from an image' : 'Create an instance from an image (without starting it)')
      .argument('<image>', 'image alias or fingerprint ([remote:]image)')
      .argument('[name]', 'instance name ([remote:]name)')
      .option('-c, --config <key=value>', 'config key for the new instance (repeatable)', collect, [])
      .option('-p, --profile <profile>', 'profile to apply (repeatable)', collect, [])
      .option('-e, --ephemeral', 'ephemeral instance: deleted when it stops')
      .action(async (image: string, nameArg: string | undefined, flags: CreateFlags) => {
        const img = parseTarget(image);
        const inst = nameArg ? parseTarget(nameArg) : { name: '', remote: undefined };
        if (ctx.remoteName(img.remote) !== ctx.remoteName(inst.remote)) {
          throw new Error('Images from another remote are not supported: import the image on the target remote first');
        }
        const client = await ctx.connect(inst.remote);
        const source = await imageSource(client, img.name);
        const op = await client.run('POST', '/1.0/instances', { json: createBody(inst.name || undefined, source, flags) });
        const name = inst.name || createdName(op.resources);
        ctx.out(`Creating ${name}`);
        if (!start) return;
        ctx.out(`Starting ${name}`);
        await client.run('PUT', `${instancePath(name)}/state`, { json: stateBody('start') });
      });
  }

  program
    .command('start')
    .description('Start instances (a paused instance resumes)')
    .argument('<names...>')
    .action((names: string[]) => eachInstance(ctx, names, async (client, name) => {
      const status = (await client.get(instancePath(name))).status;
      await changeState(client, name, status === 'Frozen' ? 'unfreeze' : 'start');
    }));

  for (const [verb, description] of [
    ['stop', 'Stop instances'],
    ['restart', 'Restart instances'],
  ] as const) {
    program
      .command(verb)
      .description(description)
      .argument('<names...>')
      .option('-f, --force', 'kill the instance instead of shutting it down cleanly')
      .option('--timeout <seconds>', 'how long to wait for a clean shutdown (-1: no limit)', parseTimeout)
      .action((names: string[], o: { force?: boolean; timeout?: number }) =>
        eachInstance(ctx, names, (client, name) => changeState(client, name, verb, o)),
      );
  }

  program
    .command('pause')
    .description('Pause (freeze) instances; `start` resumes them')
    .argument('<names...>')
    .action((names: string[]) => eachInstance(ctx, names, (client, name) => changeState(client, name, 'freeze')));

  program
    .command('delete')
    .alias('rm')
    .description('Delete instances')
    .argument('<names...>')
    .option('-f, --force', 'stop running instances first')
    .action((names: string[], o: { force?: boolean }) =>
      eachInstance(ctx, names, async (client, name) => {
        const inst = await client.get(instancePath(name));
        if (inst.status !== 'Stopped') {
          if (!o.force) throw new Error('The instance is currently running, stop it first or pass --force');
          await changeState(client, name, 'stop', { force: true });
          // an ephemeral instance is gone once stopped
          if (inst.ephemeral && !(await exists(client, name))) return;
        }
        await client.run('DELETE', instancePath(name));
      }),
    );
}

async function changeState(client: LxdClient, name: string, action: StateAction, o: { force?: boolean; timeout?: number } = {}): Promise<void> {
  await client.run('PUT', `${instancePath(name)}/state`, { json: stateBody(action, o) });
}

/**
 * Runs `fn` for each `[remote:]name`, going on after a failure (as lxc does for several
 * instances), then fails with every error, each prefixed by its instance.
 */
async function eachInstance(ctx: CliContext, names: string[], fn: (client: LxdClient, name: string) => Promise<void>): Promise<void> {
  const errors: string[] = [];
  for (const arg of names) {
    try {
      const { client, name } = await ctx.target(arg);
      await fn(client, name);
    } catch (err) {
      errors.push(names.length > 1 ? `${arg}: ${(err as Error).message}` : (err as Error).message);
    }
  }
  if (errors.length) throw new Error(errors.join('\n'));
}

/** An alias is sent as the fingerprint it points to (as lxc does); anything else as a fingerprint (prefix). */
async function imageSource(client: LxdClient, image: string): Promise<ImageSource> {
  try {
    const alias = await client.get(`/1.0/images/aliases/${encodeURIComponent(image)}`);
    return { type: 'image', fingerprint: alias.target };
  } catch (err) {
    if (!(err instanceof LxdApiError) || err.status !== 404) throw err;
    return { type: 'image', fingerprint: image };
  }
}

async function exists(client: LxdClient, name: string): Promise<boolean> {
  try {
    await client.get(instancePath(name));
    return true;
  } catch (err) {
    if (err instanceof LxdApiError && err.status === 404) return false;
    throw err;
  }
}

/** The name the server chose, from the create operation's resources. */
function createdName(resources: Record<string, string[]> | undefined): string {
  const url = resources?.instances?.[0] ?? resources?.containers?.[0];
  if (!url) throw new Error('The server did not say which instance it created');
  return decodeURIComponent(url.split('/').pop()!);
}
