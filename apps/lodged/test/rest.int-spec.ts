import { X509Certificate } from 'node:crypto';
import { promises as fs, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { API_EXTENSIONS, etagHash } from '@lodge/api-types';
import { startDaemon } from '../src/bootstrap';
import { call, collect, errorBody, freePort, openWs, ProbeTasks, startTestDaemon, syncBody, TestDaemon, until } from './support';

jest.setTimeout(60_000);

describe('lodged REST core over the unix socket', () => {
  let t: TestDaemon;
  let sock: string;
  /** core.https_address used by the config tests: PUT binds it for real. */
  let httpsAddr: string;

  beforeAll(async () => {
    httpsAddr = `127.0.0.1:${await freePort()}`;
    t = await startTestDaemon({ jsonBodyLimit: 64 * 1024, operationRetentionMs: 60_000 });
    sock = t.daemon.socketPath;
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  describe('socket and certificate', () => {
    it('listens on <dir>/unix.socket with mode 0660, group root', () => {
      expect(sock).toBe(join(t.dir, 'unix.socket'));
      const st = statSync(sock);
      expect(st.isSocket()).toBe(true);
      expect(st.mode & 0o777).toBe(0o660);
      if (process.getuid?.() === 0) expect(st.gid).toBe(0);
    });

    it('refuses to start while another daemon answers on the socket', async () => {
      await expect(startDaemon({ dir: t.dir })).rejects.toThrow(/already running/);
      // the running daemon is untouched
      expect((await call(sock, 'GET', '/')).status).toBe(200);
    });

    it('writes a P-384 serverAuth certificate and a 0600 key, and reports its PEM and fingerprint', async () => {
      expect(statSync(join(t.dir, 'server.key')).mode & 0o777).toBe(0o600);
      const pem = await fs.readFile(join(t.dir, 'server.crt'), 'utf8');
      const x509 = new X509Certificate(pem);
      expect(x509.publicKey.asymmetricKeyDetails?.namedCurve).toBe('secp384r1');
      expect(x509.keyUsage).toContain('1.3.6.1.5.5.7.3.1'); // EKU serverAuth
      const env = (await call(sock, 'GET', '/1.0')).json.metadata.environment;
      expect(env.certificate).toBe(pem);
      expect(env.certificate_fingerprint).toBe(x509.fingerprint256.replace(/:/g, '').toLowerCase());
      expect(env.certificate_fingerprint).toMatch(/^[0-9a-f]{64}$/);
    });
  });

  describe('GET / and GET /1.0', () => {
    it('GET / is the exact sync envelope listing /1.0', async () => {
      const r = await call(sock, 'GET', '/');
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      expect(r.text).toBe(syncBody(['/1.0']));
    });

    it('GET /1.0 has the envelope keys in order and the fields clients read', async () => {
      const r = await call(sock, 'GET', '/1.0');
      expect(r.status).toBe(200);
      expect(Object.keys(r.json)).toEqual(['type', 'status', 'status_code', 'operation', 'error_code', 'error', 'metadata']);
      const m = r.json.metadata;
      expect(m).toMatchObject({
        api_extensions: [...API_EXTENSIONS],
        api_status: 'stable',
        api_version: '1.0',
        auth: 'trusted',
        public: false,
        auth_methods: ['tls'],
        config: {},
      });
      expect(m.environment).toMatchObject({
        addresses: [],
        server: 'lxd',
        server_clustered: false,
        server_pid: process.pid,
        server_version: '5.0.2',
        project: 'default',
        storage: 'dir',
        driver: 'lodge',
        kernel: 'Linux',
        storage_supported_drivers: [{ Name: 'dir', Version: '1', Remote: false }],
      });
      expect(m.environment.architectures.length).toBeGreaterThan(0);
      expect(typeof m.environment.server_name).toBe('string');
      expect(m.environment.os_name).not.toBe('');
      expect(r.headers.etag).toBe(`"${etagHash(m.config)}"`);
    });

    it('accepts ?project=default and answers 404 for any other project', async () => {
      expect((await call(sock, 'GET', '/1.0?project=default')).status).toBe(200);
      const r = await call(sock, 'GET', '/1.0?project=nope');
      expect(r.status).toBe(404);
      expect(r.text).toBe(errorBody(404, 'Project not found'));
      expect((await call(sock, 'GET', '/1.0/operations?project=nope')).status).toBe(404);
    });
  });

  describe('errors', () => {
    it('unknown route: LXD 404 envelope', async () => {
      const r = await call(sock, 'GET', '/1.0/nothing-here');
      expect(r.status).toBe(404);
      expect(r.text).toBe(errorBody(404, 'not found'));
      expect((await call(sock, 'DELETE', '/1.0')).text).toBe(errorBody(404, 'not found'));
    });

    it('malformed JSON: 400 envelope', async () => {
      const r = await call(sock, 'PATCH', '/1.0', { raw: '{"config": {', headers: { 'Content-Type': 'application/json' } });
      expect(r.status).toBe(400);
      expect(r.json).toMatchObject({ type: 'error', status: '', status_code: 0, operation: '', error_code: 400, metadata: null });
      expect(r.json.error).toMatch(/JSON/);
      const empty = await call(sock, 'PUT', '/1.0');
      expect(empty.text).toBe(errorBody(400, 'Request body must be a JSON object'));
    });

    it('body over the limit: 413 envelope', async () => {
      const big = JSON.stringify({ config: { 'images.auto_update_interval': '1'.repeat(100 * 1024) } });
      const r = await call(sock, 'PUT', '/1.0', { raw: big });
      expect(r.status).toBe(413);
      expect(r.text).toBe(errorBody(413, 'Request body too large'));
    });

    it('unknown operation: 404 with "not found" wording', async () => {
      const r = await call(sock, 'GET', '/1.0/operations/00000000-0000-0000-0000-000000000000');
      expect(r.status).toBe(404);
      expect(r.text).toBe(errorBody(404, 'Operation not found'));
    });
  });

  describe('server config, ETag and If-Match', () => {
    it('PUT with a stale If-Match is 412; with the current ETag it applies', async () => {
      const before = await call(sock, 'GET', '/1.0');
      const etag = before.headers.etag as string;
      const stale = await call(sock, 'PUT', '/1.0', { body: { config: { 'core.https_address': httpsAddr } }, headers: { 'If-Match': '"0000"' } });
      expect(stale.status).toBe(412);
      expect(stale.json.error_code).toBe(412);
      expect(stale.json.error).toMatch(/^ETag doesn't match: [0-9a-f]{64} vs 0000$/);

      const ok = await call(sock, 'PUT', '/1.0', { body: { config: { 'core.https_address': httpsAddr } }, headers: { 'If-Match': etag } });
      expect(ok.status).toBe(200);
      expect(ok.text).toBe(syncBody({}));
      const after = await call(sock, 'GET', '/1.0');
      expect(after.json.metadata.config).toEqual({ 'core.https_address': httpsAddr });
      expect(after.headers.etag).not.toBe(etag);

      // the old ETag is now stale
      const again = await call(sock, 'PATCH', '/1.0', { body: { config: { 'images.auto_update_interval': '12' } }, headers: { 'If-Match': etag } });
      expect(again.status).toBe(412);
    });

    it('PATCH merges; the trust password is stored hashed and shown as true; PUT with true keeps it', async () => {
      const r = await call(sock, 'PATCH', '/1.0', { body: { config: { 'core.trust_password': 's3cret', 'images.auto_update_interval': '12' } } });
      expect(r.status).toBe(200);
      const cfg = (await call(sock, 'GET', '/1.0')).json.metadata.config;
      expect(cfg).toEqual({ 'core.https_address': httpsAddr, 'core.trust_password': true, 'images.auto_update_interval': '12' });
      expect(JSON.stringify(cfg)).not.toContain('s3cret');

      // What `lxc config set` does: GET, change one key, PUT the whole map back with the ETag.
      const get = await call(sock, 'GET', '/1.0');
      const put = await call(sock, 'PUT', '/1.0', {
        body: { config: { ...get.json.metadata.config, 'images.auto_update_interval': '6' } },
        headers: { 'If-Match': get.headers.etag as string },
      });
      expect(put.status).toBe(200);
      const { ServerConfigService } = await import('../src/server/server-config.service');
      const svc = t.daemon.app.get(ServerConfigService);
      expect(await svc.checkTrustPassword('s3cret')).toBe(true);
      expect(await svc.checkTrustPassword('wrong')).toBe(false);

      // "" unsets with PATCH
      await call(sock, 'PATCH', '/1.0', { body: { config: { 'core.trust_password': '' } } });
      expect((await call(sock, 'GET', '/1.0')).json.metadata.config['core.trust_password']).toBeUndefined();
    });

    it('unknown keys and bad values are 400 with LXD wording, and change nothing', async () => {
      const before = (await call(sock, 'GET', '/1.0')).json.metadata.config;
      const unknown = await call(sock, 'PATCH', '/1.0', { body: { config: { 'foo.bar': 'x' } } });
      expect(unknown.status).toBe(400);
      expect(unknown.text).toBe(errorBody(400, "cannot set 'foo.bar' to 'x': unknown key"));
      const bad = await call(sock, 'PUT', '/1.0', { body: { config: { 'images.auto_update_interval': 'soon', 'core.https_address': 'not an address' } } });
      expect(bad.status).toBe(400);
      expect(bad.json.error).toMatch(/^cannot set 'core.https_address' to 'not an address': .* \(and 1 more errors\)$/);
      expect((await call(sock, 'GET', '/1.0')).json.metadata.config).toEqual(before);
    });
  });

  describe('projects, storage pools, cluster (read-only)', () => {
    it('lists and gets the default project', async () => {
      expect((await call(sock, 'GET', '/1.0/projects')).json.metadata).toEqual(['/1.0/projects/default']);
      expect((await call(sock, 'GET', '/1.0/projects?recursion=1')).json.metadata[0].name).toBe('default');
      const p = await call(sock, 'GET', '/1.0/projects/default');
      expect(p.json.metadata).toMatchObject({ name: 'default', used_by: [] });
      expect(p.headers.etag).toMatch(/^"[0-9a-f]{64}"$/);
      expect((await call(sock, 'GET', '/1.0/projects/other')).text).toBe(errorBody(404, 'Project not found'));
    });

    it('lists and gets the default storage pool', async () => {
      expect((await call(sock, 'GET', '/1.0/storage-pools')).json.metadata).toEqual(['/1.0/storage-pools/default']);
      expect((await call(sock, 'GET', '/1.0/storage-pools/default')).json.metadata).toMatchObject({ name: 'default', driver: 'dir' });
      expect((await call(sock, 'GET', '/1.0/storage-pools/x')).status).toBe(404);
    });

    it('reports a standalone cluster', async () => {
      expect((await call(sock, 'GET', '/1.0/cluster')).json.metadata).toMatchObject({ enabled: false });
    });
  });

  describe('operations', () => {
    it('an async response is 202 with Location and the Operation as metadata', async () => {
      const r = await call(sock, 'POST', '/1.0/lodge-probe/tasks');
      expect(r.status).toBe(202);
      const op = r.json.metadata;
      expect(r.headers.location).toBe(`/1.0/operations/${op.id}`);
      expect(Object.keys(r.json)).toEqual(['type', 'status', 'status_code', 'operation', 'error_code', 'error', 'metadata']);
      expect(r.json).toMatchObject({ type: 'async', status: 'Operation created', status_code: 100, operation: `/1.0/operations/${op.id}`, error_code: 0, error: '' });
      expect(Object.keys(op)).toEqual(['id', 'class', 'description', 'created_at', 'updated_at', 'status', 'status_code', 'resources', 'metadata', 'may_cancel', 'err', 'location']);
      expect(op).toMatchObject({ class: 'task', description: 'Probe task', status: 'Running', status_code: 103, resources: { instances: ['/1.0/instances/probe'] }, metadata: null, may_cancel: true, err: '', location: 'none' });
      ProbeTasks.release(op.id);
    });

    it('GET /1.0/operations maps lower-case status to URLs (recursion=0) or objects (recursion=1)', async () => {
      const token = t.operations.createAndStart({ class: 'token', description: 'Token', mayCancel: true, metadata: { secret: 'x' } });
      const list = (await call(sock, 'GET', '/1.0/operations')).json.metadata;
      expect(list.running).toContain(`/1.0/operations/${token.id}`);
      const full = (await call(sock, 'GET', '/1.0/operations?recursion=1')).json.metadata;
      expect(full.running.find((o: any) => o.id === token.id)).toMatchObject({ class: 'token', status_code: 103, metadata: { secret: 'x' } });
      const one = await call(sock, 'GET', `/1.0/operations/${token.id}`);
      expect(one.json.metadata.id).toBe(token.id);
      token.complete();
      const after = (await call(sock, 'GET', '/1.0/operations')).json.metadata;
      expect(after.success).toContain(`/1.0/operations/${token.id}`);
      expect(after.running ?? []).not.toContain(`/1.0/operations/${token.id}`);
    });

    it('wait long-polls until the operation is final; timeout=0 returns the current state', async () => {
      const created = (await call(sock, 'POST', '/1.0/lodge-probe/tasks')).json.metadata;
      const now = await call(sock, 'GET', `/1.0/operations/${created.id}/wait?timeout=0`);
      expect(now.status).toBe(200);
      expect(now.json.metadata.status).toBe('Running');

      const waiting = call(sock, 'GET', `/1.0/operations/${created.id}/wait?timeout=-1`);
      let answered = false;
      void waiting.then(() => (answered = true));
      await call(sock, 'GET', `/1.0/operations/${created.id}`); // a round trip: the wait is still pending
      expect(answered).toBe(false);
      ProbeTasks.release(created.id, { answer: 42 });
      const r = await waiting;
      expect(r.status).toBe(200);
      expect(r.json.metadata).toMatchObject({ id: created.id, status: 'Success', status_code: 200, metadata: { answer: 42 }, err: '' });
    });

    it('a failing task ends in Failure with err', async () => {
      const op = t.operations.createAndStart({ class: 'task', description: 'Doomed', run: async () => { throw new Error('boom'); } });
      const r = await call(sock, 'GET', `/1.0/operations/${op.id}/wait`);
      expect(r.json.metadata).toMatchObject({ status: 'Failure', status_code: 400, err: 'boom' });
    });

    it('DELETE cancels a cancellable operation and refuses the others', async () => {
      let cancelled = false;
      const op = t.operations.createAndStart({
        class: 'task',
        description: 'Cancellable',
        mayCancel: true,
        onCancel: () => {
          cancelled = true;
        },
        run: ({ signal }) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))),
      });
      const del = await call(sock, 'DELETE', `/1.0/operations/${op.id}`);
      expect(del.status).toBe(200);
      expect(del.text).toBe(syncBody({}));
      expect(cancelled).toBe(true);
      expect((await call(sock, 'GET', `/1.0/operations/${op.id}`)).json.metadata).toMatchObject({ status: 'Cancelled', status_code: 401 });
      const again = await call(sock, 'DELETE', `/1.0/operations/${op.id}`);
      expect(again.text).toBe(errorBody(400, 'Only running operations can be cancelled'));

      const fixed = t.operations.createAndStart({ class: 'token', description: 'Fixed' });
      const refused = await call(sock, 'DELETE', `/1.0/operations/${fixed.id}`);
      expect(refused.text).toBe(errorBody(400, "This operation can't be cancelled"));
      fixed.complete();
    });
  });

  describe('websockets', () => {
    it('GET /1.0/events streams operation events in LXD shape for every state change', async () => {
      const ws = await openWs(sock, '/1.0/events?type=operation&project=default');
      try {
        const events = collect(ws);
        await until(() => t.daemon.app.get(require('../src/events/events.service').EventsService).listenerCount > 0);
        const created = (await call(sock, 'POST', '/1.0/lodge-probe/tasks')).json.metadata;
        ProbeTasks.release(created.id, { done: true });
        const success = await events.next((e) => e.metadata?.id === created.id && e.metadata.status_code === 200);
        expect(Object.keys(success)).toEqual(['type', 'timestamp', 'metadata', 'location', 'project']);
        expect(success).toMatchObject({ type: 'operation', location: 'none', project: 'default' });
        expect(success.metadata).toMatchObject({ class: 'task', status: 'Success', metadata: { done: true } });
        expect(Number.isNaN(Date.parse(success.timestamp))).toBe(false);
        const statuses = events.seen.filter((e) => e.metadata.id === created.id).map((e) => e.metadata.status);
        expect(statuses).toEqual(['Pending', 'Running', 'Success']);
      } finally {
        ws.close();
      }
    });

    it('rejects unknown event types and unknown projects before the handshake', async () => {
      await expect(openWs(sock, '/1.0/events?type=bogus')).rejects.toMatchObject({ status: 400 });
      await expect(openWs(sock, '/1.0/events?project=nope')).rejects.toMatchObject({ status: 404, body: errorBody(404, 'Project not found') });
      await expect(openWs(sock, '/1.0/whatever')).rejects.toMatchObject({ status: 404, body: errorBody(404, 'not found') });
      const plain = await call(sock, 'GET', '/1.0/events');
      expect(plain.status).toBe(400);
    });

    it('routes /1.0/operations/{id}/websocket?secret= to the operation and refuses bad secrets', async () => {
      const op = t.operations.createAndStart({
        class: 'websocket',
        description: 'Echo',
        metadata: { fds: { '0': 'sekrit' } },
        connect: (secret) =>
          secret === 'sekrit'
            ? (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }))
            : undefined,
      });
      const ws = await openWs(sock, `/1.0/operations/${op.id}/websocket?secret=sekrit`);
      try {
        const echoed = new Promise<string>((resolve) => ws.once('message', (d) => resolve(d.toString())));
        ws.send('ping');
        expect(await echoed).toBe('ping');
      } finally {
        ws.close();
      }
      await expect(openWs(sock, `/1.0/operations/${op.id}/websocket?secret=wrong`)).rejects.toMatchObject({ status: 403 });
      await expect(openWs(sock, `/1.0/operations/00000000-0000-0000-0000-000000000000/websocket?secret=x`)).rejects.toMatchObject({ status: 404 });
      op.complete();
    });
  });
});

describe('lodged start-up', () => {
  it('removes a stale socket file and starts', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'lodged-stale-'));
    try {
      writeFileSync(join(dir, 'unix.socket'), '');
      const d = await startDaemon({ dir });
      try {
        expect(statSync(d.socketPath).isSocket()).toBe(true);
        expect((await call(d.socketPath, 'GET', '/')).status).toBe(200);
      } finally {
        await d.close();
      }
      expect(() => statSync(join(dir, 'unix.socket'))).toThrow();
      // a second start reuses the certificate
      const certBefore = await fs.readFile(join(dir, 'server.crt'), 'utf8');
      const d2 = await startDaemon({ dir });
      await d2.close();
      expect(await fs.readFile(join(dir, 'server.crt'), 'utf8')).toBe(certBefore);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
