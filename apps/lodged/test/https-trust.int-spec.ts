import { createServer as createNetServer, Server as NetServer } from 'node:net';
import { WebSocket } from 'ws';
import { API_EXTENSIONS, decodeCertificateAddToken, encodeCertificateAddToken } from '@lodge/api-types';
import { InMemoryServerConfigStore } from '../src/server/server-config.store';
import {
  call,
  ClientIdentity,
  errorBody,
  freePort,
  httpsCall,
  makeClientIdentity,
  startTestDaemon,
  syncBody,
  tcpProbe,
  TestDaemon,
} from './support';

jest.setTimeout(60_000);

const PASSWORD = 'pw-correct-horse';

describe('HTTPS listener and TLS client-certificate trust', () => {
  let t: TestDaemon;
  let sock: string;
  let port: number;
  let serverCert: string;
  let serverFingerprint: string;
  let alice: ClientIdentity;
  let bob: ClientIdentity;
  let carol: ClientIdentity;
  let dave: ClientIdentity;

  const get = (path: string, client?: ClientIdentity) => httpsCall(port, serverCert, 'GET', path, { client });
  const post = (path: string, body: unknown, client?: ClientIdentity) => httpsCall(port, serverCert, 'POST', path, { client, body });

  beforeAll(async () => {
    t = await startTestDaemon({ operationRetentionMs: 60_000 });
    sock = t.daemon.socketPath;
    [alice, bob, carol, dave] = await Promise.all(['alice', 'bob', 'carol', 'dave'].map((n) => makeClientIdentity(n)));
    port = await freePort();
    const r = await call(sock, 'PATCH', '/1.0', { body: { config: { 'core.https_address': `127.0.0.1:${port}`, 'core.trust_password': PASSWORD } } });
    expect(r.status).toBe(200);
    const env = (await call(sock, 'GET', '/1.0')).json.metadata.environment;
    serverCert = env.certificate;
    serverFingerprint = env.certificate_fingerprint;
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  describe('untrusted clients', () => {
    it('GET /1.0 is the reduced public form: six fields, auth untrusted, no ETag', async () => {
      const r = await get('/1.0', alice);
      expect(r.status).toBe(200);
      expect(r.headers.etag).toBeUndefined();
      expect(r.text).toBe(
        syncBody({ api_extensions: [...API_EXTENSIONS], api_status: 'stable', api_version: '1.0', auth: 'untrusted', public: false, auth_methods: ['tls'] }),
      );
      // the same without any client certificate
      expect((await get('/1.0')).json.metadata.auth).toBe('untrusted');
      expect((await get('/')).text).toBe(syncBody(['/1.0']));
    });

    it('everything else is 403 "not authorized"', async () => {
      for (const [method, path] of [
        ['GET', '/1.0/operations'],
        ['GET', '/1.0/certificates'],
        ['GET', '/1.0/projects'],
        ['PUT', '/1.0'],
        ['PATCH', '/1.0'],
        ['DELETE', `/1.0/certificates/${alice.fingerprint}`],
      ]) {
        const r = await httpsCall(port, serverCert, method, path, { client: alice, body: method === 'GET' || method === 'DELETE' ? undefined : { config: {} } });
        expect([method, path, r.status, r.text]).toEqual([method, path, 403, errorBody(403, 'not authorized')]);
      }
    });

    it('the events websocket is refused (403), operation websockets still need only their secret', async () => {
      const status = await wssStatus(port, serverCert, '/1.0/events', alice);
      expect(status).toBe(403);
    });

    it('POST /1.0/certificates without a password or with a wrong one is 403', async () => {
      expect((await post('/1.0/certificates', { type: 'client' }, alice)).text).toBe(errorBody(403, 'not authorized'));
      expect((await post('/1.0/certificates', { type: 'client', password: 'wrong' }, alice)).text).toBe(errorBody(403, 'not authorized'));
      expect((await get('/1.0', alice)).json.metadata.auth).toBe('untrusted');
    });

    it('the right password without a client certificate is 400', async () => {
      const r = await post('/1.0/certificates', { type: 'client', password: PASSWORD });
      expect(r.text).toBe(errorBody(400, 'No client certificate provided'));
    });
  });

  describe('password trust', () => {
    it('the right password trusts the TLS client certificate (what lxc remote add sends)', async () => {
      const body = { name: '', type: 'client', restricted: false, projects: null, certificate: '', password: PASSWORD, token: false };
      const r = await post('/1.0/certificates', body, alice);
      expect(r.status).toBe(201);
      expect(r.headers.location).toBe(`/1.0/certificates/${alice.fingerprint}`);
      expect(r.json).toMatchObject({ type: 'sync', status_code: 200 });

      const info = await get('/1.0', alice);
      expect(info.json.metadata.auth).toBe('trusted');
      expect(info.json.metadata.environment).toMatchObject({
        server_version: '5.0.2',
        addresses: [`127.0.0.1:${port}`],
        certificate: serverCert,
      });
      expect(info.headers.etag).toMatch(/^"[0-9a-f]{64}"$/);
      expect((await get('/1.0/operations', alice)).status).toBe(200);
      // the unix socket reports the same addresses
      expect((await call(sock, 'GET', '/1.0')).json.metadata.environment.addresses).toEqual([`127.0.0.1:${port}`]);
    });

    it('lists, shows (by prefix, with ETag) and edits the trusted certificate', async () => {
      expect((await get('/1.0/certificates', alice)).json.metadata).toEqual([`/1.0/certificates/${alice.fingerprint}`]);
      const full = await get('/1.0/certificates?recursion=1', alice);
      expect(full.json.metadata).toHaveLength(1);
      const entry = full.json.metadata[0];
      expect(Object.keys(entry)).toEqual(['name', 'type', 'restricted', 'projects', 'certificate', 'fingerprint']);
      expect(entry).toMatchObject({ name: 'alice', type: 'client', restricted: false, projects: [], fingerprint: alice.fingerprint });
      expect(entry.certificate).toMatch(/^-----BEGIN CERTIFICATE-----\n/);

      const one = await get(`/1.0/certificates/${alice.fingerprint.slice(0, 12)}`, alice);
      expect(one.status).toBe(200);
      expect(one.json.metadata).toEqual(entry);
      const etag = one.headers.etag as string;
      expect(etag).toMatch(/^"[0-9a-f]{64}"$/);

      const stale = await httpsCall(port, serverCert, 'PATCH', `/1.0/certificates/${alice.fingerprint}`, { client: alice, body: { name: 'x' }, headers: { 'If-Match': '"0"' } });
      expect(stale.status).toBe(412);
      const patched = await httpsCall(port, serverCert, 'PATCH', `/1.0/certificates/${alice.fingerprint}`, { client: alice, body: { name: 'alice-laptop' }, headers: { 'If-Match': etag } });
      expect(patched.text).toBe(syncBody({}));
      expect((await call(sock, 'GET', `/1.0/certificates/${alice.fingerprint}`)).json.metadata.name).toBe('alice-laptop');

      const put = await call(sock, 'PUT', `/1.0/certificates/${alice.fingerprint}`, { body: { name: 'alice', type: 'client', restricted: false, projects: [] } });
      expect(put.status).toBe(200);
      expect((await call(sock, 'GET', `/1.0/certificates/${alice.fingerprint}`)).json.metadata).toEqual(entry);

      expect((await call(sock, 'PATCH', `/1.0/certificates/${alice.fingerprint}`, { body: { restricted: true } })).text).toBe(
        errorBody(400, 'Restricted certificates are not supported'),
      );
      const missing = await get(`/1.0/certificates/${'0'.repeat(64)}`, alice);
      expect(missing.text).toBe(errorBody(404, 'Certificate not found'));
    });

    it('a trusted client adds another certificate (base64 DER); duplicates are refused', async () => {
      const r = await post('/1.0/certificates', { type: 'client', certificate: bob.base64Der, name: 'bob' }, alice);
      expect(r.status).toBe(201);
      expect(r.headers.location).toBe(`/1.0/certificates/${bob.fingerprint}`);
      expect((await get('/1.0/operations', bob)).status).toBe(200);
      const dup = await call(sock, 'POST', '/1.0/certificates', { body: { type: 'client', certificate: bob.cert } });
      expect(dup.text).toBe(errorBody(400, 'Certificate already in trust store'));
      const bad = await call(sock, 'POST', '/1.0/certificates', { body: { type: 'client', certificate: 'bm90IGEgY2VydA==' } });
      expect(bad.status).toBe(400);
      expect(bad.json.error).toMatch(/^invalid certificate material/);
      const noTls = await call(sock, 'POST', '/1.0/certificates', { body: { type: 'client' } });
      expect(noTls.text).toBe(errorBody(400, "Can't use TLS data on non-TLS link"));
    });

    it('a trusted client opens the events websocket over HTTPS', async () => {
      expect(await wssStatus(port, serverCert, '/1.0/events', alice)).toBe(101);
    });

    it('DELETE revokes at once', async () => {
      const del = await httpsCall(port, serverCert, 'DELETE', `/1.0/certificates/${bob.fingerprint}`, { client: alice });
      expect(del.text).toBe(syncBody({}));
      expect((await get('/1.0/operations', bob)).status).toBe(403);
      expect((await get('/1.0', bob)).json.metadata.auth).toBe('untrusted');
      expect((await httpsCall(port, serverCert, 'DELETE', `/1.0/certificates/${bob.fingerprint}`, { client: alice })).status).toBe(404);
    });
  });

  describe('certificate add tokens', () => {
    async function newToken(name: string) {
      const r = await call(sock, 'POST', '/1.0/certificates', { body: { name, type: 'client', token: true } });
      expect(r.status).toBe(202);
      const op = r.json.metadata;
      expect(op).toMatchObject({ class: 'token', description: 'Certificate add token', status: 'Running', may_cancel: true });
      expect(op.metadata).toMatchObject({ fingerprint: serverFingerprint, addresses: [`127.0.0.1:${port}`], request: { name, type: 'client' } });
      expect(op.metadata.secret).toMatch(/^[0-9a-f]{64}$/);
      const token = encodeCertificateAddToken({ client_name: name, fingerprint: op.metadata.fingerprint, addresses: op.metadata.addresses, secret: op.metadata.secret });
      return { op, token };
    }

    it('a token (as password) trusts the client once, under the token name; the token operation ends', async () => {
      const { op, token } = await newToken('carol-token');
      expect(decodeCertificateAddToken(token)?.secret).toBe(op.metadata.secret);
      const r = await post('/1.0/certificates', { type: 'client', password: token, name: 'ignored' }, carol);
      expect(r.status).toBe(201);
      expect((await get('/1.0', carol)).json.metadata.auth).toBe('trusted');
      expect((await call(sock, 'GET', `/1.0/certificates/${carol.fingerprint}`)).json.metadata.name).toBe('carol-token');
      expect((await call(sock, 'GET', `/1.0/operations/${op.id}`)).json.metadata.status).toBe('Cancelled');

      const again = await post('/1.0/certificates', { type: 'client', password: token }, dave);
      expect(again.text).toBe(errorBody(403, 'No matching certificate add operation found'));
    });

    it('the bare secret and trust_token work too; a cancelled token does not', async () => {
      const a = await newToken('dave-secret');
      expect((await post('/1.0/certificates', { password: a.op.metadata.secret }, dave)).status).toBe(201);
      await call(sock, 'DELETE', `/1.0/certificates/${dave.fingerprint}`);

      const b = await newToken('dave-trust-token');
      expect((await post('/1.0/certificates', { trust_token: b.token }, dave)).status).toBe(201);
      await call(sock, 'DELETE', `/1.0/certificates/${dave.fingerprint}`);

      const c = await newToken('dave-cancelled');
      expect((await call(sock, 'DELETE', `/1.0/operations/${c.op.id}`)).status).toBe(200);
      expect((await post('/1.0/certificates', { password: c.token }, dave)).status).toBe(403);
      expect((await post('/1.0/certificates', { password: c.op.metadata.secret }, dave)).status).toBe(403);
      expect((await get('/1.0', dave)).json.metadata.auth).toBe('untrusted');
    });

    it('refuses a token with a certificate, or without a name', async () => {
      expect((await call(sock, 'POST', '/1.0/certificates', { body: { token: true, name: 'x', certificate: bob.base64Der } })).text).toBe(
        errorBody(400, "Can't use certificate if token is requested"),
      );
      expect((await call(sock, 'POST', '/1.0/certificates', { body: { token: true } })).status).toBe(400);
    });
  });

  describe('live changes of core.https_address', () => {
    it('a bad or busy address is a 400 and leaves the listener as it was', async () => {
      const before = (await call(sock, 'GET', '/1.0')).json.metadata.config['core.https_address'];
      const invalid = await call(sock, 'PATCH', '/1.0', { body: { config: { 'core.https_address': 'not an address' } } });
      expect(invalid.status).toBe(400);

      const blocker: NetServer = createNetServer();
      const busyPort = await new Promise<number>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as { port: number }).port)));
      try {
        const busy = await call(sock, 'PATCH', '/1.0', { body: { config: { 'core.https_address': `127.0.0.1:${busyPort}` } } });
        expect(busy.status).toBe(400);
        expect(busy.json.error).toMatch(/^Cannot listen on https socket: .*EADDRINUSE/);
      } finally {
        await new Promise((resolve) => blocker.close(resolve));
      }
      expect((await call(sock, 'GET', '/1.0')).json.metadata.config['core.https_address']).toBe(before);
      expect((await get('/1.0', alice)).json.metadata.auth).toBe('trusted');
    });

    it('a trusted HTTPS client moves the listener: its answer arrives, the old port closes, the new one serves', async () => {
      const oldPort = port;
      const newPort = await freePort();
      const r = await httpsCall(port, serverCert, 'PATCH', '/1.0', { client: alice, body: { config: { 'core.https_address': `127.0.0.1:${newPort}` } } });
      expect(r.text).toBe(syncBody({}));
      expect(await tcpProbe(oldPort)).toBe('ECONNREFUSED');
      port = newPort;
      const info = await get('/1.0', alice);
      expect(info.json.metadata.auth).toBe('trusted');
      expect(info.json.metadata.environment.addresses).toEqual([`127.0.0.1:${newPort}`]);
    });

    it('moving to a wildcard on the same port rebinds; a wildcard lists the host addresses and loopback', async () => {
      expect((await call(sock, 'PATCH', '/1.0', { body: { config: { 'core.https_address': `0.0.0.0:${port}` } } })).status).toBe(200);
      const env = (await get('/1.0', alice)).json.metadata.environment;
      expect(env.addresses).toContain(`127.0.0.1:${port}`);
      for (const a of env.addresses) expect(a).toMatch(new RegExp(`^[0-9.]+:${port}$`));
      expect((await call(sock, 'PATCH', '/1.0', { body: { config: { 'core.https_address': `127.0.0.1:${port}` } } })).status).toBe(200);
      expect((await get('/1.0', alice)).json.metadata.environment.addresses).toEqual([`127.0.0.1:${port}`]);
    });

    it('unsetting closes the listener', async () => {
      expect((await call(sock, 'PATCH', '/1.0', { body: { config: { 'core.https_address': '' } } })).status).toBe(200);
      expect(await tcpProbe(port)).toBe('ECONNREFUSED');
      expect((await call(sock, 'GET', '/1.0')).json.metadata.environment.addresses).toEqual([]);
    });
  });
});

describe('HTTPS listener from the stored config', () => {
  it('listens at start on the stored core.https_address and stops on close', async () => {
    const port = await freePort();
    const t = await startTestDaemon({ serverConfigStore: new InMemoryServerConfigStore({ 'core.https_address': `127.0.0.1:${port}` }) });
    try {
      const serverCert = (await call(t.daemon.socketPath, 'GET', '/1.0')).json.metadata.environment.certificate;
      const r = await httpsCall(port, serverCert, 'GET', '/1.0');
      expect(r.json.metadata.auth).toBe('untrusted');
    } finally {
      await t.cleanup();
    }
    expect(await tcpProbe(port)).toBe('ECONNREFUSED');
  });
});

/** The HTTP status of a websocket handshake over HTTPS (101 when it opened). */
function wssStatus(port: number, ca: string, path: string, client: ClientIdentity): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${port}${path}`, { ca, cert: client.cert, key: client.key });
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (req, res) => {
      res.resume();
      req.destroy();
      resolve(res.statusCode ?? 0);
    });
    ws.once('error', reject);
  });
}
