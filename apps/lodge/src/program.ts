/** The `lodge` command line: global options and one command group per file in commands/. */
import { Command, CommanderError } from 'commander';
import { registerConfig } from './commands/config';
import { registerExec } from './commands/exec';
import { registerFile } from './commands/file';
import { registerImage } from './commands/image';
import { registerInfo } from './commands/info';
import { registerLifecycle } from './commands/lifecycle';
import { registerList } from './commands/list';
import { registerProfile } from './commands/profile';
import { registerRemote } from './commands/remote';
import { CliContext, CliIo } from './context';

export function buildProgram(io: CliIo): { program: Command; ctx: CliContext } {
  const program = new Command('lodge');
  const ctx = new CliContext(program, io);
  program
    .description('Command line client for Lodge (an lxc-like client of the LXD 1.0 API)')
    .option('--dir <dir>', "the local daemon's directory (its unix.socket); LODGE_DIR, else /var/lib/lodge")
    .option('--remote <name>', 'the remote to talk to when an argument names none')
    .option('--project <name>', 'the project to work in')
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  registerLifecycle(program, ctx);
  registerList(program, ctx);
  registerInfo(program, ctx);
  registerExec(program, ctx);
  registerFile(program, ctx);
  registerConfig(program, ctx);
  registerProfile(program, ctx);
  registerImage(program, ctx);
  registerRemote(program, ctx);
  // subcommands report usage errors by throwing, so run() owns the exit code
  const exitOverride = (c: Command) => {
    c.exitOverride();
    c.commands.forEach(exitOverride);
  };
  exitOverride(program);
  return { program, ctx };
}

/** Runs one command line; resolves with the exit code (errors printed as `Error: ...`). */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const { program, ctx } = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    io.stderr.write(`Error: ${(err as Error).message}\n`);
    return 1;
  }
}
