/** `lodge exec [remote:]NAME [--] COMMAND...`: pipes and the exit code, or a pty when on a terminal. */
import type { Command } from 'commander';
import { ExecOptions, runExec } from '../client/exec-session';
import type { CliContext, CliIo } from '../context';
import { parseKeyValues } from '../parse/key-value';
import { collect } from './instance-requests';

export type ExecMode = 'auto' | 'interactive' | 'non-interactive';

export interface ExecFlags {
  env: string[];
  mode: string;
  forceInteractive?: boolean;
  forceNoninteractive?: boolean;
  cwd?: string;
  user?: string;
  group?: string;
}

/** A pty when asked for, or in auto mode when both stdin and stdout are terminals (as lxc decides). */
export function isInteractive(f: ExecFlags, io: Pick<CliIo, 'stdin' | 'stdout'>): boolean {
  if (f.forceInteractive && f.forceNoninteractive) throw new Error("You can't pass -t and -T at the same time");
  if (f.forceInteractive) return true;
  if (f.forceNoninteractive) return false;
  if (!['auto', 'interactive', 'non-interactive'].includes(f.mode)) throw new Error(`Invalid mode "${f.mode}": expected auto, interactive or non-interactive`);
  if (f.mode !== 'auto') return f.mode === 'interactive';
  return !!io.stdin.isTTY && !!io.stdout.isTTY;
}

function parseId(what: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new Error(`Invalid ${what} "${v}": expected a number`);
  return Number(v);
}

export function execOptions(command: string[], f: ExecFlags, io: Pick<CliIo, 'stdin' | 'stdout' | 'env'>): ExecOptions {
  const interactive = isInteractive(f, io);
  const environment: Record<string, string> = {};
  if (interactive && io.env.TERM) environment.TERM = io.env.TERM;
  Object.assign(environment, parseKeyValues(f.env));
  return { command, environment, interactive, cwd: f.cwd, user: parseId('user', f.user), group: parseId('group', f.group) };
}

export function registerExec(program: Command, ctx: CliContext): void {
  program
    .command('exec')
    .description('Run a command in an instance')
    .argument('<name>', '[remote:]instance')
    .argument('<command...>', 'the command and its arguments (put them after --)')
    .option('--env <key=value>', 'environment variable (repeatable)', collect, [])
    .option('--mode <mode>', 'auto, interactive or non-interactive', 'auto')
    .option('-t, --force-interactive', 'use a pty even when not on a terminal')
    .option('-T, --force-noninteractive', 'use pipes even on a terminal')
    .option('--cwd <dir>', 'working directory in the instance')
    .option('--user <uid>', 'user id to run as')
    .option('--group <gid>', 'group id to run as')
    .action(async (arg: string, command: string[], f: ExecFlags) => {
      const { client, name } = await ctx.target(arg);
      ctx.exitCode = await runExec(client, name, execOptions(command, f, ctx.io), ctx.io);
    });
}
