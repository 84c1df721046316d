/**
 * The edit cycle of `config edit` and `profile edit`: edit the YAML, apply it; on a terminal a
 * refused change reopens the editor on the user's text (as lxc does), otherwise it fails.
 */
import type { CliContext } from '../context';
import { editText } from '../editor';

export async function editLoop(ctx: CliContext, initial: string, apply: (text: string) => Promise<void>): Promise<void> {
  let text = initial;
  for (;;) {
    text = await editText(ctx.io, text);
    try {
      await apply(text);
      return;
    } catch (err) {
      if (!ctx.io.stdin.isTTY) throw err;
      ctx.err(`Config parsing error: ${(err as Error).message}`);
      ctx.err('Press enter to open the editor again or ctrl+c to abort change');
      await new Promise((resolve) => ctx.io.stdin.once('data', resolve));
    }
  }
}
