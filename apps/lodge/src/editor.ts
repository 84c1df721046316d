/**
 * `edit` commands: on a terminal the text opens in $VISUAL/$EDITOR (vi otherwise); when stdin
 * is not a terminal the new text is read from it, so `lodge config edit c1 < c1.yaml` works.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAll } from './client/lxd-client';
import type { CliIo } from './context';

export async function editText(io: CliIo, text: string): Promise<string> {
  if (!io.stdin.isTTY) return (await readAll(io.stdin)).toString('utf8');
  const dir = mkdtempSync(join(tmpdir(), 'lodge-edit-'));
  const file = join(dir, 'edit.yaml');
  try {
    writeFileSync(file, text, { mode: 0o600 });
    const editor = io.env.VISUAL || io.env.EDITOR || 'vi';
    // the editor value may carry arguments ("code -w"), as shells allow
    const r = spawnSync('/bin/sh', ['-c', `${editor} "$1"`, 'editor', file], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`The editor (${editor}) failed`);
    return readFileSync(file, 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
