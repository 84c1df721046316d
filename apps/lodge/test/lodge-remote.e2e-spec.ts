/**
 * `lodge remote add` over HTTPS to a real lodged: the server certificate is shown and pinned,
 * the client certificate becomes trusted with the trust password, and then instances, exec
 * (websockets over TLS) and images work through `remote:` names and --remote. A wrong password
 * or an unaccepted certificate saves nothing.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { BUSYBOX_UNIFIED, EngineDaemon, startEngineDaemon } from '../../lodged/test/engine-daemon';
import { freePort } from '../../lodged/test/support';
import { baseEnv, lodgeFor } from './run-lodge';

const PASSWORD = 'lodge-cli-remote-pw';

describe('lodge CLI: HTTPS remotes', () => {
  let d: EngineDaemon;
  let home: string;
  let url: string;
  // no LODGE_DIR: everything here goes over HTTPS
  const { lodge, ok } = lodgeFor(() => baseEnv(home));
  const conf = () => join(home, 'lodge-conf');

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'lodge-cli-remote-'));
    d = await startEngineDaemon('cliremote');
    const port = await freePort();
    url = `https://127.0.0.1:${port}`;
    const r = await d.api('PATCH', '/1.0', { body: { config: { 'core.https_address': `127.0.0.1:${port}`, 'core.trust_password': PASSWORD } } });
    expect(r.status).toBe(200);
  });
  afterAll(async () => {
    try {
      await d?.cleanup();
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('refuses to trust the server certificate without a terminal or --accept-certificate', async () => {
    const r = await lodge('remote', 'add', 'srv', url, '--password', PASSWORD);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Certificate fingerprint: [0-9a-f]{64}\n/);
    expect(r.stderr).toContain('Error: Certificate not accepted: pass --accept-certificate');
    expect(existsSync(join(conf(), 'servercerts', 'srv.crt'))).toBe(false);
  });

  it('a wrong trust password is refused by the server and saves no remote', async () => {
    const r = await lodge('remote', 'add', 'srv', url, '--password', 'wrong', '--accept-certificate');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Error: \S/);
    expect((await ok('remote', 'list', '-f', 'csv'))).not.toContain('srv');
    expect((await d.api('GET', '/1.0/certificates')).json.metadata).toEqual([]);
  });

  it('remote add pins the server certificate and gets the client certificate trusted', async () => {
    const r = await lodge('remote', 'add', 'srv', url.replace('https://', ''), '--password', PASSWORD, '--accept-certificate');
    expect([r.code, r.stdout]).toEqual([0, 'Client certificate now trusted by server: srv\n']);
    const serverFp = (await d.api('GET', '/1.0')).json.metadata.environment.certificate_fingerprint;
    expect(r.stderr).toBe(`Certificate fingerprint: ${serverFp}\n`);
    expect(existsSync(join(conf(), 'servercerts', 'srv.crt'))).toBe(true);
    const certs = (await d.api('GET', '/1.0/certificates?recursion=1')).json.metadata;
    expect(certs).toHaveLength(1);
    expect(readFileSync(join(conf(), 'client.crt'), 'utf8').replace(/\s/g, '')).toContain(certs[0].certificate.replace(/-----[A-Z ]+-----|\s/g, ''));
    expect(parse(readFileSync(join(conf(), 'config.yml'), 'utf8')).remotes.srv.addr).toBe(url);
    expect(await ok('remote', 'list', '-f', 'csv')).toContain(`srv,${url},lxd,tls\n`);
  });

  it('drives instances, exec and images through srv: and --remote', async () => {
    expect(await ok('image', 'import', BUSYBOX_UNIFIED, 'srv:', '--alias', 'bb')).toMatch(/^Image imported with fingerprint: [0-9a-f]{64}\n$/);
    await ok('launch', 'srv:bb', 'srv:r1');
    expect(await ok('list', 'srv:', '-f', 'csv')).toBe('r1,RUNNING,,,CONTAINER,0\n');
    expect(await ok('--remote', 'srv', 'list', '-f', 'csv')).toBe('r1,RUNNING,,,CONTAINER,0\n');
    const exec = await lodge('exec', 'srv:r1', '--', '/bin/sh', '-c', 'echo over-tls; exit 5');
    expect([exec.code, exec.stdout]).toEqual([5, 'over-tls\n']);
    await ok('delete', '--force', 'srv:r1');
    await ok('image', 'delete', 'srv:bb');
    expect((await d.api('GET', '/1.0/instances')).json.metadata).toEqual([]);
  });

  it('switch makes a remote the default; remove forgets it and its certificate', async () => {
    await ok('remote', 'switch', 'srv');
    expect(await ok('remote', 'get-default')).toBe('srv\n');
    expect(await ok('list', '-f', 'csv')).toBe('');
    const busy = await lodge('remote', 'remove', 'srv');
    expect([busy.code, busy.stderr]).toEqual([1, "Error: Can't remove the default remote\n"]);
    await ok('remote', 'switch', 'local');
    await ok('remote', 'remove', 'srv');
    expect(existsSync(join(conf(), 'servercerts', 'srv.crt'))).toBe(false);
    const gone = await lodge('list', 'srv:');
    expect([gone.code, gone.stderr]).toEqual([1, "Error: Remote srv doesn't exist\n"]);
  });
});
