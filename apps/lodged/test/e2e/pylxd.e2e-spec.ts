/**
 * Debian's python3-pylxd 2.2 against a real lodged: list, create from an alias, start, execute,
 * stop, delete, images — through the legacy /1.0/containers endpoints pylxd 2.2 uses.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EngineDaemon, importBusybox, startEngineDaemon } from '../engine-daemon';

const PYTHON = '/usr/bin/python3';

function runPython(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(PYTHON, [script, ...args], { env, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: unknown }).code as number) ?? 1 : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

describe('pylxd 2.2 (Debian python3-pylxd) against lodged', () => {
  let d: EngineDaemon;
  beforeAll(async () => {
    d = await startEngineDaemon('pylxd');
    await importBusybox(d, 'bb');
  });
  afterAll(() => d?.cleanup());

  it('has Debian python3-pylxd under /usr/bin/python3', () => {
    expect(existsSync('/usr/lib/python3/dist-packages/pylxd/__init__.py')).toBe(true);
  });

  it('lists, creates from an alias, starts, executes, stops and deletes', async () => {
    const r = await runPython(join(__dirname, 'clients', 'pylxd_flow.py'), ['bb', 'py1'], {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      LXD_DIR: d.dir,
      HOME: d.dir,
    });
    if (r.code !== 0) throw new Error(`pylxd flow failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
    const seen = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(seen.trusted).toBe(true);
    expect(seen.image_fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(seen.images).toContain(seen.image_fingerprint);
    expect(seen.after_create).toBe('Stopped');
    expect(seen.after_start).toBe('Running');
    expect(seen.listed).toEqual(['py1']);
    expect(seen.exec).toEqual({ exit_code: 7, stdout: 'out-yes\n', stderr: 'err\n' });
    expect(seen.state.status).toBe('Running');
    expect(seen.state.pids).toBeGreaterThan(0);
    expect(seen.after_stop).toBe('Stopped');
    expect(seen.exists_after_delete).toBe(false);
    expect((await d.api('GET', '/1.0/instances')).json.metadata).toEqual([]);
  });
});
