import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call, freePort, LxcResult, runLxc, startTestDaemon, tcpProbe, TestDaemon } from './support';

/**
 * Debian's real `lxc` client (lxd-client 5.0) over HTTPS: `lxc remote add` with the trust password
 * and with a certificate add token. HOME/LXD_CONF are a private temp dir (the client writes its
 * client certificate there, never to /root). Skipped without /usr/bin/lxc.
 */
const LXC = '/usr/bin/lxc';
// Debian's real client is the point of these tests: without it they fail (CI installs lxd-client).


jest.setTimeout(60_000);

const PASSWORD = 'lxc-remote-pw';

describe('Debian lxc 5.0 client over HTTPS (lxc remote add)', () => {
  it('has Debian\'s lxc client to drive (apt-get install lxd-client)', () => {
    expect(existsSync(LXC)).toBe(true);
  });

  let t: TestDaemon;
  let home: string;
  let port: number;
  let fingerprint: string;

  const conf = () => join(home, 'lxc-conf');
  const env = () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', LXD_DIR: t.dir, HOME: home, LXD_CONF: conf() });

  const lxc = (...args: string[]): Promise<LxcResult> => runLxc(LXC, env(), args);

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'lodged-lxc-remote-'));
    try {
      t = await startTestDaemon({ operationRetentionMs: 60_000 });
      port = await freePort();
      const r = await call(t.daemon.socketPath, 'PATCH', '/1.0', {
        body: { config: { 'core.https_address': `127.0.0.1:${port}`, 'core.trust_password': PASSWORD } },
      });
      expect(r.status).toBe(200);
      fingerprint = (await call(t.daemon.socketPath, 'GET', '/1.0')).json.metadata.environment.certificate_fingerprint;
      await lxc('remote', 'list');
    } catch (err) {
      await t?.cleanup();
      rmSync(home, { recursive: true, force: true });
      throw err;
    }
  });
  afterAll(async () => {
    try {
      await t?.cleanup();
    } finally {
      if (home) rmSync(home, { recursive: true, force: true });
    }
  });

  it('a wrong password is refused and nothing is trusted', async () => {
    const r = await lxc('remote', 'add', 'wrong', `https://127.0.0.1:${port}`, '--password', 'nope', '--accept-certificate');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/not authorized/);
    expect((await call(t.daemon.socketPath, 'GET', '/1.0/certificates')).json.metadata).toEqual([]);
  });

  it('lxc remote add --password, lxc info, lxc remote remove', async () => {
    const add = await lxc('remote', 'add', 'lodge', `https://127.0.0.1:${port}`, '--password', PASSWORD, '--accept-certificate');
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    // the client wrote its certificate in the private config dir and pinned ours
    const clientCert = readFileSync(join(conf(), 'client.crt'), 'utf8');
    expect(existsSync(join(conf(), 'servercerts', 'lodge.crt'))).toBe(true);

    const certs = (await call(t.daemon.socketPath, 'GET', '/1.0/certificates?recursion=1')).json.metadata;
    expect(certs).toHaveLength(1);
    expect(certs[0].certificate.replace(/\s+/g, '')).toBe(clientCert.replace(/\s+/g, ''));

    const info = await lxc('info', 'lodge:');
    expect(info.stderr).toBe('');
    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(/auth: trusted/);
    expect(info.stdout).toMatch(/server_version: 5\.0\.2/);
    expect(info.stdout).toContain(`certificate_fingerprint: ${fingerprint}`);
    expect(info.stdout).toContain(`- 127.0.0.1:${port}`);

    expect((await lxc('remote', 'remove', 'lodge')).code).toBe(0);
    expect((await lxc('remote', 'list')).stdout).not.toMatch(/\blodge\b/);

    // revoke the client certificate (over the unix socket), as `lxc config trust remove` does
    const revoke = await lxc('config', 'trust', 'remove', certs[0].fingerprint);
    expect(revoke.stderr).toBe('');
    expect(revoke.code).toBe(0);
    expect((await call(t.daemon.socketPath, 'GET', '/1.0/certificates')).json.metadata).toEqual([]);
  });

  it('lxc config trust add --name (token) then lxc remote add <token>', async () => {
    const add = await lxc('config', 'trust', 'add', '--name', 't1');
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    const token = add.stdout.trim().split('\n').pop()!.trim();
    const decoded = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
    expect(decoded).toMatchObject({ client_name: 't1', fingerprint, addresses: [`127.0.0.1:${port}`] });

    const tokens = await lxc('config', 'trust', 'list-tokens', '--format', 'csv');
    expect(tokens.code).toBe(0);
    expect(tokens.stdout).toMatch(/^t1,/m);

    const remote = await lxc('remote', 'add', 'lodge2', token);
    expect(remote.stderr).toBe('');
    expect(remote.code).toBe(0);
    const info = await lxc('info', 'lodge2:');
    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(/auth: trusted/);

    const list = await lxc('config', 'trust', 'list', '--format', 'csv');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^client,t1,/m);
    // single use: the token is gone
    expect((await lxc('config', 'trust', 'list-tokens', '--format', 'csv')).stdout).not.toMatch(/^t1,/m);
    expect((await lxc('remote', 'remove', 'lodge2')).code).toBe(0);
  });

  it('lxc config unset core.https_address closes the port', async () => {
    expect((await lxc('config', 'unset', 'core.https_address')).code).toBe(0);
    expect(await tcpProbe(port)).toBe('ECONNREFUSED');
  });
});
