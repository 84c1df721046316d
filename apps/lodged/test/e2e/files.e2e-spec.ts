/**
 * Files of real containers through Debian's `lxc file` (push/pull with owner and mode, push -r,
 * delete) and raw REST (directory listings, symlinks, append, bad headers), running and stopped;
 * and confinement: symlinks to host paths and ".." never reach the host's files.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineDaemon, importBusybox, mountsUnder, startEngineDaemon } from '../engine-daemon';
import { LxcResult } from '../support';

const LXC = '/usr/bin/lxc';

describe('instance files in real containers', () => {
  let d: EngineDaemon;
  let home: string;
  /** a host directory with a secret no instance may read or overwrite */
  let hostDir: string;
  const SECRET = 'host secret\n';
  const env = () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', LXD_DIR: d.dir, HOME: home, LXD_CONF: join(home, 'lxc-conf') });
  const lxc = (...args: string[]): Promise<LxcResult> =>
    new Promise((resolve) => {
      const child = execFile(LXC, args, { env: env() }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr }));
      child.stdin?.end();
    });
  const ok = async (...args: string[]): Promise<string> => {
    const r = await lxc(...args);
    if (r.code !== 0) throw new Error(`lxc ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  };
  const sh = (cmd: string) => ok('exec', 'c1', '--', 'sh', '-c', cmd);
  // file bodies are raw bytes, as lxc sends them
  const files = (method: string, path: string, o: { raw?: string; headers?: Record<string, string> } = {}, name = 'c1') =>
    d.api(method, `/1.0/instances/${name}/files?path=${encodeURIComponent(path)}`, { ...o, headers: { 'Content-Type': 'application/octet-stream', ...o.headers } });
  const secretIntact = () => {
    expect(readFileSync(join(hostDir, 'secret'), 'utf8')).toBe(SECRET);
    expect(existsSync(join(hostDir, 'planted'))).toBe(false);
  };

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'lodge-files-home-'));
    hostDir = mkdtempSync(join(tmpdir(), 'lodge-files-host-'));
    writeFileSync(join(hostDir, 'secret'), SECRET, { mode: 0o600 });
    d = await startEngineDaemon('files');
    await lxc('remote', 'list'); // the first run writes the client's config
    await importBusybox(d, 'bb');
    for (const name of ['c1', 'cold']) await d.instances.create({ name, source: { type: 'image', alias: 'bb' } });
    await d.instances.start('c1');
  });
  afterAll(async () => {
    try {
      await d?.cleanup();
    } finally {
      for (const p of [home, hostDir]) if (p) rmSync(p, { recursive: true, force: true });
    }
  });

  it('lxc file push / pull round-trips content; mode, uid and gid are what the container sees', async () => {
    const local = join(home, 'hello.txt');
    writeFileSync(local, 'hello from the host\n');
    await ok('file', 'push', local, 'c1/root/hello.txt', '--mode', '0640', '--uid', '1000', '--gid', '1001');
    expect((await sh('stat -c "%a %u %g" /root/hello.txt')).trim()).toBe('640 1000 1001');
    const pulled = join(home, 'pulled.txt');
    await ok('file', 'pull', 'c1/root/hello.txt', pulled);
    expect(readFileSync(pulled, 'utf8')).toBe('hello from the host\n');
    // GET reports the owner in container ids, as the client pushed them
    const got = await files('GET', '/root/hello.txt');
    expect([got.status, got.headers['x-lxd-uid'], got.headers['x-lxd-gid'], got.headers['x-lxd-mode'], got.headers['x-lxd-type'], got.text]).toEqual([
      200, '1000', '1001', '0640', 'file', 'hello from the host\n',
    ]);
  });

  it('lxc file push -r copies a directory tree; lxc file delete removes a file', async () => {
    const tree = join(home, 'tree');
    mkdirSync(join(tree, 'sub'), { recursive: true });
    writeFileSync(join(tree, 'a.txt'), 'A');
    writeFileSync(join(tree, 'sub', 'b.txt'), 'B');
    await ok('file', 'push', '-r', tree, 'c1/tmp/');
    expect((await sh('cat /tmp/tree/a.txt /tmp/tree/sub/b.txt; stat -c "%F" /tmp/tree/sub')).split('\n')).toEqual(['ABdirectory', '']);
    // and back with pull -r
    const back = join(home, 'back');
    mkdirSync(back);
    await ok('file', 'pull', '-r', 'c1/tmp/tree', back);
    expect([readFileSync(join(back, 'tree', 'a.txt'), 'utf8'), readFileSync(join(back, 'tree', 'sub', 'b.txt'), 'utf8')]).toEqual(['A', 'B']);
    await ok('file', 'delete', 'c1/tmp/tree/a.txt');
    expect((await sh('ls /tmp/tree')).trim()).toBe('sub');
    const missing = await files('DELETE', '/tmp/tree/a.txt');
    expect(missing.status).toBe(404);
    const notEmpty = await files('DELETE', '/tmp/tree');
    expect(notEmpty.status).toBe(400);
  });

  it('GET on a directory lists its entries; on a symlink returns the link itself', async () => {
    await sh('mkdir -p /srv/list && touch /srv/list/x /srv/list/y && ln -s /srv/list/x /srv/list/link');
    const dir = await files('GET', '/srv/list');
    expect([dir.status, dir.headers['x-lxd-type'], dir.json.metadata]).toEqual([200, 'directory', ['link', 'x', 'y']]);
    const link = await files('GET', '/srv/list/link');
    expect([link.status, link.headers['x-lxd-type'], link.text]).toEqual([200, 'symlink', '/srv/list/x']);
  });

  it('POST creates directories and symlinks, appends with X-LXD-write: append', async () => {
    await sh('mkdir -p /srv');
    expect((await files('POST', '/srv/made', { headers: { 'X-LXD-type': 'directory', 'X-LXD-mode': '0700', 'X-LXD-uid': '5' } })).status).toBe(200);
    expect((await files('POST', '/srv/made/ln', { raw: '../hello', headers: { 'X-LXD-type': 'symlink' } })).status).toBe(200);
    expect((await files('POST', '/srv/made/log', { raw: 'one\n' })).status).toBe(200);
    expect((await files('POST', '/srv/made/log', { raw: 'two\n', headers: { 'X-LXD-write': 'append' } })).status).toBe(200);
    expect((await sh('stat -c "%a %u" /srv/made; readlink /srv/made/ln; cat /srv/made/log')).split('\n')).toEqual(['700 5', '../hello', 'one', 'two', '']);
    // an overwrite replaces the content and keeps the owner and mode it had
    await sh('chown 7:8 /srv/made/log && chmod 600 /srv/made/log');
    expect((await files('POST', '/srv/made/log', { raw: 'new\n' })).status).toBe(200);
    expect((await sh('stat -c "%a %u %g" /srv/made/log; cat /srv/made/log')).split('\n')).toEqual(['600 7 8', 'new', '']);
  });

  it('malformed headers are refused with 400 and create nothing', async () => {
    const bad = async (headers: Record<string, string>) => {
      const r = await files('POST', '/root/bad', { raw: 'x', headers });
      return r.status;
    };
    expect(await bad({ 'X-LXD-mode': 'rw-r--r--' })).toBe(400);
    expect(await bad({ 'X-LXD-mode': '017777' })).toBe(400);
    expect(await bad({ 'X-LXD-uid': '-5' })).toBe(400);
    expect(await bad({ 'X-LXD-gid': '99999999999999999999999999999999999' })).toBe(400);
    expect(await bad({ 'X-LXD-type': 'fifo' })).toBe(400);
    expect(await bad({ 'X-LXD-write': 'sometimes' })).toBe(400);
    // an id outside the container's map cannot be given to a file
    expect(await bad({ 'X-LXD-uid': '70000' })).toBe(400);
    expect((await files('GET', '/root/bad')).status).toBe(404);
    expect((await d.api('GET', '/1.0/instances/c1/files')).status).toBe(400);
  });

  it('a symlink to a host path is resolved inside the container, for reading and for writing', async () => {
    // links an untrusted container can plant: absolute to the host file, to its directory, and relative upwards
    await sh(`ln -s ${hostDir}/secret /root/evil; ln -s ${hostDir} /root/evildir; ln -s ../../../../../../..${hostDir}/secret /root/up`);
    for (const p of ['/root/evildir/secret', `/root/up`]) {
      const r = await files('GET', p);
      // the container has no such path: the host file is not what comes back
      if (p === '/root/up') expect([r.status, r.headers['x-lxd-type']]).toEqual([200, 'symlink']);
      else expect(r.status).toBe(404);
      expect(r.text).not.toContain('host secret');
    }
    const local = join(home, 'payload');
    writeFileSync(local, 'planted\n');
    // writing through the absolute link lands at that path inside the container (its parent
    // does not exist there, so it is refused), never on the host
    const through = await lxc('file', 'push', local, 'c1/root/evil');
    expect(through.code).not.toBe(0);
    await sh(`mkdir -p ${hostDir}`);
    await ok('file', 'push', local, 'c1/root/evil');
    expect((await sh(`cat ${hostDir}/secret`))).toBe('planted\n');
    expect((await files('POST', '/root/evildir/planted', { raw: 'x' })).status).toBe(200);
    expect((await sh(`ls ${hostDir}`)).split('\n').sort()).toEqual(['', 'planted', 'secret']);
    secretIntact();
  });

  it('".." never climbs out of the instance\'s root', async () => {
    const up = `/../../../../../..${hostDir}/secret`;
    const r = await files('GET', up);
    // resolved as the container's own path
    expect(r.text).not.toBe(SECRET);
    expect((await files('POST', `/../../../..${hostDir}/planted`, { raw: 'escaped' })).status).toBe(200);
    expect((await sh(`cat ${hostDir}/planted`))).toBe('escaped');
    const del = await files('DELETE', `/../../..${hostDir}/secret`);
    expect(del.status).toBe(200);
    secretIntact();
    expect(statSync(hostDir).isDirectory()).toBe(true);
  });

  it('a stopped instance\'s files can be written and read; owners are right when it runs', async () => {
    const local = join(home, 'cold.txt');
    writeFileSync(local, 'written while stopped\n');
    await ok('file', 'push', local, 'cold/root/cold.txt', '--uid', '1000', '--gid', '1000', '--mode', '0604');
    const got = await files('GET', '/root/cold.txt', {}, 'cold');
    expect([got.status, got.headers['x-lxd-uid'], got.headers['x-lxd-mode'], got.text]).toEqual([200, '1000', '0604', 'written while stopped\n']);
    // a file of the image layer: root's inside
    const image = await files('GET', '/bin', {}, 'cold');
    expect([image.status, image.headers['x-lxd-uid'], image.headers['x-lxd-type']]).toEqual([200, '0', 'directory']);
    // nothing stays mounted after a call
    expect(mountsUnder(join(d.dir, 'storage-pools'))).toEqual([]);
    await d.instances.start('cold');
    expect((await ok('exec', 'cold', '--', 'stat', '-c', '%a %u %g', '/root/cold.txt')).trim()).toBe('604 1000 1000');
    expect((await ok('exec', 'cold', '--', 'stat', '-c', '%u', '/bin')).trim()).toBe('0');
    // /root came up from the image layer with the write: it is still root's inside
    expect((await ok('exec', 'cold', '--', 'stat', '-c', '%u %g', '/root')).trim()).toBe('0 0');
  });

  it('pylxd 2.2 (Debian python3-pylxd) puts, gets and deletes files', async () => {
    const script = [
      'import json, pylxd',
      'c = pylxd.Client().containers.get("c1")',
      'c.files.put("/root/py.txt", b"from pylxd\\n", mode="0600", uid=3, gid=4)',
      'got = c.files.get("/root/py.txt").decode()',
      'c.files.delete("/root/py.txt")',
      'print(json.dumps({"got": got}))',
    ].join('\n');
    const r = await new Promise<LxcResult>((resolve) => {
      execFile('/usr/bin/python3', ['-c', script], { env: { PATH: '/usr/bin:/bin', LXD_DIR: d.dir, HOME: home } }, (err, stdout, stderr) =>
        resolve({ code: err ? 1 : 0, stdout, stderr }),
      );
    });
    if (r.code !== 0) throw new Error(`pylxd failed: ${r.stderr}`);
    expect(JSON.parse(r.stdout)).toEqual({ got: 'from pylxd\n' });
    expect((await files('GET', '/root/py.txt')).status).toBe(404);
  });

  it('unknown instances and paths are 404', async () => {
    expect((await files('GET', '/etc/hostname', {}, 'nope')).status).toBe(404);
    expect((await files('GET', '/no/such/file')).status).toBe(404);
    expect((await d.api('GET', `/1.0/containers/c1/files?path=${encodeURIComponent('/root/hello.txt')}`)).text).toBe('hello from the host\n');
  });
});
