/**
 * Debian's `lxc` client (lxd-client 5.0) over HTTPS to a real lodged, after `lxc remote add` with
 * the trust password: image import, launch, list, exec, file push/pull, stop, delete, image
 * delete — the same client, as a remote user drives it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUSYBOX_UNIFIED, EngineDaemon, startEngineDaemon } from '../engine-daemon';
import { freePort, LxcResult, runLxc } from '../support';

const LXC = '/usr/bin/lxc';
const PASSWORD = 'https-e2e-pw';

describe('Debian lxc over HTTPS against lodged with real containers', () => {
  let d: EngineDaemon;
  let home: string;
  const env = () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, LXD_CONF: join(home, 'lxc-conf') });
  const lxc = (...args: string[]): Promise<LxcResult> => runLxc(LXC, env(), args);
  const ok = async (...args: string[]): Promise<string> => {
    const r = await lxc(...args);
    if (r.code !== 0) throw new Error(`lxc ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  };

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'lodge-lxc-https-'));
    d = await startEngineDaemon('lxchttps');
    const port = await freePort();
    const r = await d.api('PATCH', '/1.0', { body: { config: { 'core.https_address': `127.0.0.1:${port}`, 'core.trust_password': PASSWORD } } });
    expect(r.status).toBe(200);
    await ok('remote', 'add', 'lodge', `https://127.0.0.1:${port}`, '--password', PASSWORD, '--accept-certificate');
  });
  afterAll(async () => {
    try {
      await d?.cleanup();
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('imports, launches, lists, execs, pushes and pulls files, stops and deletes over HTTPS', async () => {
    await ok('image', 'import', BUSYBOX_UNIFIED, 'lodge:', '--alias', 'bb');
    expect(await ok('image', 'list', 'lodge:', '--format', 'csv', '-c', 'l')).toContain('bb');

    await ok('launch', 'lodge:bb', 'lodge:h1');
    expect((await ok('list', 'lodge:', '--format', 'csv', '-c', 'ns')).trim()).toBe('h1,RUNNING');

    const exec = await lxc('exec', 'lodge:h1', '--', '/bin/sh', '-c', 'cat /etc/hostname; exit 4');
    expect([exec.code, exec.stdout]).toEqual([4, 'h1\n']);

    const local = join(home, 'pushed.txt');
    writeFileSync(local, 'over https\n');
    await ok('file', 'push', local, 'lodge:h1/root/pushed.txt', '--mode', '0640');
    expect((await ok('exec', 'lodge:h1', '--', 'stat', '-c', '%a %u', '/root/pushed.txt')).trim()).toBe('640 0');
    const pulled = join(home, 'pulled.txt');
    await ok('file', 'pull', 'lodge:h1/root/pushed.txt', pulled);
    expect(readFileSync(pulled, 'utf8')).toBe('over https\n');

    await ok('stop', 'lodge:h1', '--force');
    expect((await ok('list', 'lodge:', '--format', 'csv', '-c', 'ns')).trim()).toBe('h1,STOPPED');
    await ok('delete', 'lodge:h1');
    expect((await ok('list', 'lodge:', '--format', 'csv', '-c', 'n')).trim()).toBe('');
    await ok('image', 'delete', 'lodge:bb');
    expect((await d.api('GET', '/1.0/images')).json.metadata).toEqual([]);
  });
});
