/**
 * The instances REST API against a real lodged with real containers: create (from an image and
 * empty), get/list at every recursion with real status and state, PUT/PATCH with live limits,
 * ETags, state actions, rename, delete, ephemeral instances, logs, the legacy /1.0/containers
 * paths and lifecycle events. Bad input answers 4xx with LXD's wording and leaves nothing behind.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InstancesRepository } from '@lodge/state';
import { EngineDaemon, importBusybox, mountsUnder, startEngineDaemon } from '../engine-daemon';
import { collect, openWs, until } from '../support';

describe('instances REST API', () => {
  let d: EngineDaemon;
  let fingerprint: string;
  beforeAll(async () => {
    d = await startEngineDaemon('instances-rest');
    fingerprint = await importBusybox(d, 'bb');
  });
  afterAll(() => d?.cleanup());

  const pool = () => join(d.dir, 'storage-pools', 'default', 'containers');
  const rows = async () => (await d.daemon.app.get(InstancesRepository).list()).map((r) => r.name).sort();
  const cgroupsOf = (name: string) => {
    const out: string[] = [];
    for (const root of ['/sys/fs/cgroup', ...(existsSync('/sys/fs/cgroup/memory') ? readdirSync('/sys/fs/cgroup').map((c) => join('/sys/fs/cgroup', c)) : [])]) {
      const p = join(root, d.parent, name);
      if (existsSync(p)) out.push(p);
    }
    return out;
  };
  const create = (body: Record<string, unknown>, base = '/1.0/instances') => d.api('POST', base, { body });
  const launch = async (name: string, extra: Record<string, unknown> = {}) => {
    const created = await d.waitOp(await create({ name, source: { type: 'image', alias: 'bb' }, ...extra }));
    expect(created.err).toBe('');
    const started = await d.waitOp(await d.api('PUT', `/1.0/instances/${name}/state`, { body: { action: 'start' } }));
    expect(started.err).toBe('');
  };
  const stateOf = async (name: string, action: string, extra: Record<string, unknown> = {}) =>
    d.waitOp(await d.api('PUT', `/1.0/instances/${name}/state`, { body: { action, ...extra } }));

  it('creates from an image alias as a task operation and shows the instance as LXD does', async () => {
    const res = await create({ name: 'c1', source: { type: 'image', alias: 'bb' }, config: { 'user.note': 'hello' } });
    expect(res.status).toBe(202);
    expect(res.json.metadata.class).toBe('task');
    expect(res.json.metadata.description).toBe('Creating instance');
    expect(res.json.metadata.resources).toEqual({ instances: ['/1.0/instances/c1'], containers: ['/1.0/containers/c1'] });
    expect((await d.waitOp(res)).status).toBe('Success');

    const got = await d.api('GET', '/1.0/instances/c1');
    expect(got.status).toBe(200);
    expect(got.headers.etag).toMatch(/^"[0-9a-f]{64}"$/);
    const i = got.json.metadata;
    expect(i).toMatchObject({
      name: 'c1',
      status: 'Stopped',
      status_code: 102,
      type: 'container',
      location: 'none',
      project: 'default',
      stateful: false,
      ephemeral: false,
      profiles: ['default'],
      architecture: 'x86_64',
      last_used_at: '0001-01-01T00:00:00Z',
    });
    expect(i.config['user.note']).toBe('hello');
    expect(i.config['volatile.base_image']).toBe(fingerprint);
    expect(i.config['volatile.uuid']).toMatch(/^[0-9a-f-]{36}$/);
    expect(i.expanded_devices.root).toMatchObject({ type: 'disk', path: '/', pool: 'default' });
    expect(i.expanded_config['user.note']).toBe('hello');
    expect(Date.parse(i.created_at)).not.toBeNaN();
    expect(Object.keys(i)).toEqual([
      'architecture', 'config', 'devices', 'ephemeral', 'profiles', 'stateful', 'description', 'created_at',
      'expanded_config', 'expanded_devices', 'name', 'status', 'status_code', 'last_used_at', 'location', 'type', 'project',
    ]);
    // the same object under the legacy path pylxd 2.2 uses
    expect((await d.api('GET', '/1.0/containers/c1')).json.metadata).toEqual(i);
  });

  it('starts, reports real state (pid, processes, cpu, memory, lo) and stops', async () => {
    expect((await stateOf('c1', 'start')).status).toBe('Success');
    const c = d.runtime.get('c1')!;
    expect(c.state).toBe('running');
    const s = (await d.api('GET', '/1.0/instances/c1/state')).json.metadata;
    expect(s.status).toBe('Running');
    expect(s.status_code).toBe(103);
    expect(s.pid).toBe(c.pid);
    expect(s.processes).toBeGreaterThan(0);
    expect(s.cpu.usage).toBeGreaterThan(0);
    expect(s.memory.usage).toBeGreaterThan(0);
    expect(s.network.lo).toMatchObject({ type: 'loopback', mtu: 65536 });
    // the image brings lo up at boot; what is reported is read from the instance's own network
    // namespace: it follows a change made there from outside
    const lo = async () => (await d.api('GET', '/1.0/instances/c1/state')).json.metadata.network.lo;
    expect(await until(async () => (await lo()).state === 'up')).toBe(true);
    expect((await lo()).addresses).toEqual([
      { family: 'inet', address: '127.0.0.1', netmask: '8', scope: 'local' },
      { family: 'inet6', address: '::1', netmask: '128', scope: 'local' },
    ]);
    execFileSync('nsenter', ['--target', String(c.pid), '--net', 'ip', 'link', 'set', 'lo', 'down']);
    expect((await lo()).state).toBe('down');
    execFileSync('nsenter', ['--target', String(c.pid), '--net', 'ip', 'link', 'set', 'lo', 'up']);
    expect((await lo()).state).toBe('up');
    // one UDP datagram over the instance's lo, sent from its namespace
    execFileSync('nsenter', ['--target', String(c.pid), '--net', 'bash', '-c', 'echo hi > /dev/udp/127.0.0.1/9'], { stdio: 'ignore' });
    const counted = (await d.api('GET', '/1.0/instances/c1/state')).json.metadata.network.lo.counters;
    expect(counted.packets_received).toBeGreaterThan(0);
    expect(counted.bytes_sent).toBeGreaterThan(0);
    expect(s.disk.root.usage).toBeGreaterThanOrEqual(0);
    const i = (await d.api('GET', '/1.0/instances/c1')).json.metadata;
    expect(i.status).toBe('Running');
    expect(Date.parse(i.last_used_at)).toBeGreaterThan(Date.parse(i.created_at) - 1000);

    const stop = await stateOf('c1', 'stop', { force: true });
    expect(stop.status).toBe('Success');
    expect(d.runtime.get('c1')).toBeUndefined();
    const stopped = (await d.api('GET', '/1.0/instances/c1/state')).json.metadata;
    expect(stopped).toMatchObject({ status: 'Stopped', status_code: 102, pid: 0, processes: 0, network: null });
  });

  it('lists at recursion 0, 1 and 2 with filters, under both paths', async () => {
    await d.waitOp(await create({ name: 'c2', source: { type: 'none' } }));
    await stateOf('c1', 'start');
    try {
      expect((await d.api('GET', '/1.0/instances')).json.metadata).toEqual(['/1.0/instances/c1', '/1.0/instances/c2']);
      expect((await d.api('GET', '/1.0/containers')).json.metadata).toEqual(['/1.0/instances/c1', '/1.0/instances/c2']);
      const r1 = (await d.api('GET', '/1.0/instances?recursion=1')).json.metadata;
      expect(r1.map((i: any) => [i.name, i.status])).toEqual([['c1', 'Running'], ['c2', 'Stopped']]);
      expect(r1[0].state).toBeUndefined();
      const r2 = (await d.api('GET', '/1.0/instances?recursion=2')).json.metadata;
      expect(r2[0].state).toMatchObject({ status: 'Running', pid: d.runtime.get('c1')!.pid });
      expect(r2[1].state).toMatchObject({ status: 'Stopped', pid: 0 });
      expect(r2[0]).toMatchObject({ snapshots: null, backups: null });
      const q = (f: string, rec = 0) => d.api('GET', `/1.0/instances?recursion=${rec}&filter=${encodeURIComponent(f)}`);
      expect((await q('status eq Running')).json.metadata).toEqual(['/1.0/instances/c1']);
      expect((await q('status eq stopped', 1)).json.metadata.map((i: any) => i.name)).toEqual(['c2']);
      expect((await q('name eq c1 or name eq c2')).json.metadata).toHaveLength(2);
      expect((await q('not name eq c1')).json.metadata).toEqual(['/1.0/instances/c2']);
      expect((await q('config.user.note eq hello and status eq Running')).json.metadata).toEqual(['/1.0/instances/c1']);
      expect((await q('config.user.note ne hello')).json.metadata).toEqual(['/1.0/instances/c2']);
      const bad = await q('name gt c1');
      expect(bad.status).toBe(400);
      expect(bad.json.error).toMatch(/unknown operator "gt"/);
      expect((await d.api('GET', '/1.0/instances?project=nope')).status).toBe(404);
    } finally {
      await stateOf('c1', 'stop', { force: true });
    }
  });

  it('PUT and PATCH change writable fields, apply limits to the running container, and honour If-Match', async () => {
    await stateOf('c1', 'start');
    try {
      const got = await d.api('GET', '/1.0/instances/c1');
      const etag = got.headers.etag as string;
      const body = { ...got.json.metadata, config: { ...got.json.metadata.config, 'limits.memory': '64MiB' }, description: 'put' };
      const put = await d.api('PUT', '/1.0/instances/c1', { body, headers: { 'If-Match': etag } });
      expect(put.status).toBe(202);
      expect((await d.waitOp(put)).status).toBe('Success');
      const c = d.runtime.get('c1')!;
      const limitFiles = c.cgroup.paths.flatMap((p) => ['memory.max', 'memory.limit_in_bytes'].map((f) => join(p, f))).filter(existsSync);
      expect(limitFiles.map((f) => readFileSync(f, 'utf8').trim())).toContain(String(64 * 1024 * 1024));
      // the old ETag no longer matches
      const stale = await d.api('PUT', '/1.0/instances/c1', { body, headers: { 'If-Match': etag } });
      expect(stale.status).toBe(412);

      const patch = await d.api('PATCH', '/1.0/instances/c1', { body: { config: { 'user.extra': 'x' } } });
      expect(patch.status).toBe(200);
      const after = (await d.api('GET', '/1.0/instances/c1')).json.metadata;
      expect(after.config).toMatchObject({ 'limits.memory': '64MiB', 'user.extra': 'x', 'user.note': 'hello', 'volatile.base_image': fingerprint });
      expect(after.description).toBe('put');

      // volatile keys are the daemon's
      const vol = await d.api('PATCH', '/1.0/instances/c1', { body: { config: { 'volatile.base_image': 'f'.repeat(64) } } });
      expect(vol.status).toBe(400);
      expect(vol.json.error).toBe('Config key "volatile.base_image" is managed by the daemon and cannot be set');
      // a limit the kernel cannot take is refused before anything is stored
      const bad = await d.api('PATCH', '/1.0/instances/c1', { body: { config: { 'limits.memory': 'lots' } } });
      expect(bad.status).toBe(400);
      expect(bad.json.error).toMatch(/^Invalid value "lots" for config key "limits.memory"/);
      const unknown = await d.api('PATCH', '/1.0/instances/c1', { body: { config: { 'bogus.key': '1' } } });
      expect(unknown.status).toBe(400);
      expect(unknown.json.error).toBe('Unknown configuration key: bogus.key');
      expect((await d.api('GET', '/1.0/instances/c1')).json.metadata.config['limits.memory']).toBe('64MiB');
    } finally {
      await stateOf('c1', 'stop', { force: true });
    }
  });

  it('freezes, unfreezes and restarts', async () => {
    await stateOf('c1', 'start');
    try {
      expect((await stateOf('c1', 'freeze')).status).toBe('Success');
      expect((await d.api('GET', '/1.0/instances/c1')).json.metadata).toMatchObject({ status: 'Frozen', status_code: 110 });
      expect((await stateOf('c1', 'freeze')).err).toBe('The instance is already frozen');
      expect((await stateOf('c1', 'unfreeze')).status).toBe('Success');
      expect((await d.api('GET', '/1.0/instances/c1')).json.metadata.status).toBe('Running');
      const pid = d.runtime.get('c1')!.pid;
      expect((await stateOf('c1', 'restart', { force: true })).status).toBe('Success');
      expect(d.runtime.get('c1')!.pid).not.toBe(pid);
      expect((await stateOf('c1', 'start')).err).toBe('The instance is already running');
      const bad = await d.api('PUT', '/1.0/instances/c1/state', { body: { action: 'explode' } });
      expect(bad.status).toBe(400);
      expect(bad.json.error).toBe('Unknown action "explode"');
    } finally {
      await stateOf('c1', 'stop', { force: true });
    }
    expect((await stateOf('c1', 'stop')).err).toBe('The instance is already stopped');
  });

  it('renames a stopped instance (row, volume, logs) and refuses a running one', async () => {
    const res = await d.api('POST', '/1.0/instances/c2', { body: { name: 'c2b' } });
    expect(res.status).toBe(202);
    expect((await d.waitOp(res)).status).toBe('Success');
    expect((await d.api('GET', '/1.0/instances/c2')).status).toBe(404);
    expect((await d.api('GET', '/1.0/instances/c2b')).status).toBe(200);
    expect(existsSync(join(pool(), 'c2b'))).toBe(true);
    expect(existsSync(join(pool(), 'c2'))).toBe(false);
    const taken = await d.api('POST', '/1.0/instances/c2b', { body: { name: 'c1' } });
    expect(taken.status).toBe(409);
    const invalid = await d.api('POST', '/1.0/instances/c2b', { body: { name: 'bad_name' } });
    expect(invalid.status).toBe(400);
    await stateOf('c1', 'start');
    try {
      const running = await d.api('POST', '/1.0/instances/c1', { body: { name: 'c1b' } });
      expect(running.status).toBe(400);
      expect(running.json.error).toBe('Renaming of running instance not allowed');
    } finally {
      await stateOf('c1', 'stop', { force: true });
    }
  });

  it('deletes as an operation; a running instance is refused with "Instance is running"', async () => {
    await stateOf('c1', 'start');
    const refused = await d.api('DELETE', '/1.0/instances/c1');
    expect(refused.status).toBe(400);
    expect(refused.json.error).toBe('Instance is running');
    await stateOf('c1', 'stop', { force: true });
    for (const name of ['c1', 'c2b']) {
      const res = await d.api('DELETE', `/1.0/containers/${name}`);
      expect(res.status).toBe(202);
      expect((await d.waitOp(res)).status).toBe('Success');
      expect((await d.api('GET', `/1.0/instances/${name}`)).status).toBe(404);
      expect(existsSync(join(pool(), name))).toBe(false);
      expect(existsSync(join(d.dir, 'logs', name))).toBe(false);
    }
    expect(await rows()).toEqual([]);
  });

  it('an ephemeral instance is gone once stopped', async () => {
    await launch('eph', { ephemeral: true });
    expect((await stateOf('eph', 'stop', { force: true })).status).toBe('Success');
    expect((await d.api('GET', '/1.0/instances/eph')).status).toBe(404);
    expect(existsSync(join(pool(), 'eph'))).toBe(false);
    expect(await rows()).toEqual([]);
  });

  it('an ephemeral instance survives its restart, and goes at its stop', async () => {
    await launch('eph2', { ephemeral: true });
    const pid = d.runtime.get('eph2')!.pid;
    expect((await stateOf('eph2', 'restart', { force: true })).status).toBe('Success');
    expect(d.runtime.get('eph2')!.pid).not.toBe(pid);
    expect((await d.api('GET', '/1.0/instances/eph2')).json.metadata.status).toBe('Running');
    await stateOf('eph2', 'stop', { force: true });
    expect((await d.api('GET', '/1.0/instances/eph2')).status).toBe(404);
  });

  it('a PUT that leaves out volatile keys keeps them; a running instance stays visible across a daemon restart', async () => {
    await launch('keep1');
    try {
      const before = (await d.api('GET', '/1.0/instances/keep1')).json.metadata;
      const put = await d.api('PUT', '/1.0/instances/keep1', { body: { config: { 'user.a': 'b' }, devices: {}, profiles: ['default'], ephemeral: false, description: '' } });
      expect((await d.waitOp(put)).status).toBe('Success');
      const after = (await d.api('GET', '/1.0/instances/keep1')).json.metadata;
      expect(after.config['user.a']).toBe('b');
      expect(after.config['volatile.base_image']).toBe(before.config['volatile.base_image']);
      expect(after.config['volatile.uuid']).toBe(before.config['volatile.uuid']);
      const pid = d.runtime.get('keep1')!.pid;
      await d.restart();
      const state = (await d.api('GET', '/1.0/instances/keep1/state')).json.metadata;
      expect([state.status, state.pid]).toEqual(['Running', pid]);
      // a paused instance is still paused after a restart, and can be resumed
      expect((await stateOf('keep1', 'freeze')).status).toBe('Success');
      await d.restart();
      expect((await d.api('GET', '/1.0/instances/keep1')).json.metadata.status).toBe('Frozen');
      expect((await stateOf('keep1', 'unfreeze')).status).toBe('Success');
      expect((await d.api('GET', '/1.0/instances/keep1')).json.metadata.status).toBe('Running');
    } finally {
      await stateOf('keep1', 'stop', { force: true });
      await d.waitOp(await d.api('DELETE', '/1.0/instances/keep1'));
    }
  });

  it("renders the image's templates: the test image's /etc/hostname template names the container", async () => {
    await launch('tpl-host');
    try {
      const c = d.runtime.get('tpl-host')!;
      expect(readFileSync(`/proc/${c.pid}/root/etc/hostname`, 'utf8').trim()).toBe('tpl-host');
      await until(async () => (await d.api('GET', '/1.0/instances/tpl-host/console')).text.includes('booted'));
      const p = await c.exec({ argv: ['/bin/hostname'] });
      p.stdin!.end();
      expect((await p.output()).stdout.trim()).toBe('tpl-host');
      // written from the host, yet owned by the container's root inside (not by nobody)
      const st = await c.exec({ argv: ['/bin/stat', '-c', '%n %u %g', '/etc', '/etc/hostname'] });
      st.stdin!.end();
      expect((await st.output()).stdout).toBe('/etc 0 0\n/etc/hostname 0 0\n');
    } finally {
      await stateOf('tpl-host', 'stop', { force: true });
      await d.waitOp(await d.api('DELETE', '/1.0/instances/tpl-host'));
    }
  });

  it('keeps logs: lxc.log tells the lifecycle, console.log what init printed', async () => {
    await launch('logs1');
    try {
      const list = (await d.api('GET', '/1.0/instances/logs1/logs')).json.metadata;
      expect(list).toEqual(expect.arrayContaining(['/1.0/instances/logs1/logs/console.log', '/1.0/instances/logs1/logs/lxc.log']));
      const lxcLog = await d.api('GET', '/1.0/instances/logs1/logs/lxc.log');
      expect(lxcLog.status).toBe(200);
      expect(lxcLog.headers['content-type']).toBe('application/octet-stream');
      expect(lxcLog.text).toMatch(/started, init pid \d+/);
      await until(async () => (await d.api('GET', '/1.0/instances/logs1/console')).text.includes('lodge-busybox: booted'));
      expect((await d.api('GET', '/1.0/instances/logs1/logs/nope.log')).status).toBe(404);
      expect((await d.api('GET', '/1.0/instances/logs1/logs/..')).status).toBe(400);
      const del = await d.api('DELETE', '/1.0/instances/logs1/logs/lxc.log');
      expect(del.status).toBe(400);
    } finally {
      await stateOf('logs1', 'stop', { force: true });
      await d.waitOp(await d.api('DELETE', '/1.0/instances/logs1'));
    }
  });

  it('bulk state change starts and stops every instance the action applies to', async () => {
    await d.waitOp(await create({ name: 'b1', source: { type: 'image', alias: 'bb' } }));
    await d.waitOp(await create({ name: 'b2', source: { type: 'image', alias: 'bb' } }));
    try {
      const start = await d.api('PUT', '/1.0/instances', { body: { state: { action: 'start' } } });
      expect(start.status).toBe(202);
      expect((await d.waitOp(start)).status).toBe('Success');
      expect([d.runtime.get('b1')?.state, d.runtime.get('b2')?.state]).toEqual(['running', 'running']);
      expect((await d.waitOp(await d.api('PUT', '/1.0/instances', { body: { state: { action: 'stop', force: true } } }))).status).toBe('Success');
      expect([d.runtime.get('b1'), d.runtime.get('b2')]).toEqual([undefined, undefined]);
    } finally {
      for (const n of ['b1', 'b2']) await d.waitOp(await d.api('DELETE', `/1.0/instances/${n}`));
    }
  });

  it('emits lifecycle events for create, start, stop and delete', async () => {
    const ws = await openWs(d.socket, '/1.0/events?type=lifecycle');
    const events = collect(ws);
    try {
      await launch('ev1');
      await stateOf('ev1', 'stop', { force: true });
      await d.waitOp(await d.api('DELETE', '/1.0/instances/ev1'));
      await until(() => events.seen.length >= 4);
      expect(events.seen.map((e: any) => [e.metadata.action, e.metadata.source])).toEqual([
        ['instance-created', '/1.0/instances/ev1'],
        ['instance-started', '/1.0/instances/ev1'],
        ['instance-stopped', '/1.0/instances/ev1'],
        ['instance-deleted', '/1.0/instances/ev1'],
      ]);
    } finally {
      ws.close();
    }
  });

  describe('bad input answers 4xx and leaves nothing behind', () => {
    const cases: Array<[string, Record<string, unknown> | string, number, RegExp | string]> = [
      ['invalid name', { name: 'bad_name', source: { type: 'none' } }, 400, /^Invalid instance name "bad_name"/],
      ['name starting with a digit', { name: '1abc', source: { type: 'none' } }, 400, /^Invalid instance name/],
      ['unknown config key', { name: 'x1', source: { type: 'none' }, config: { 'nope.key': 'v' } }, 400, 'Unknown configuration key: nope.key'],
      ['invalid value', { name: 'x1', source: { type: 'none' }, config: { 'limits.processes': 'many' } }, 400, /^Invalid value "many" for config key "limits.processes"/],
      ['volatile key', { name: 'x1', source: { type: 'none' }, config: { 'volatile.uuid': '00000000-0000-0000-0000-000000000000' } }, 400, 'Config key "volatile.uuid" is managed by the daemon and cannot be set'],
      ['unknown image alias', { name: 'x1', source: { type: 'image', alias: 'nope' } }, 404, 'Image alias not found'],
      ['unknown fingerprint', { name: 'x1', source: { type: 'image', fingerprint: 'abcdef' } }, 404, 'Image not found'],
      ['unknown profile', { name: 'x1', source: { type: 'none' }, profiles: ['default', 'ghost'] }, 400, 'Requested profile "ghost" doesn\'t exist'],
      ['bad device', { name: 'x1', source: { type: 'none' }, devices: { d: { type: 'warp' } } }, 400, /warp/],
      ['virtual machine', { name: 'x1', type: 'virtual-machine', source: { type: 'none' } }, 400, /not supported/],
      ['malformed JSON', '{"name": "x1", ', 400, /JSON/],
    ];
    it.each(cases)('%s', async (_label, body, status, message) => {
      const before = { rows: await rows(), volumes: readdirSync(pool()).sort(), mounts: mountsUnder(d.dir) };
      const res = typeof body === 'string' ? await d.api('POST', '/1.0/instances', { raw: body }) : await create(body);
      expect(res.status).toBe(status);
      expect(res.json.type).toBe('error');
      expect(res.json.error_code).toBe(status);
      if (typeof message === 'string') expect(res.json.error).toBe(message);
      else expect(res.json.error).toMatch(message);
      expect({ rows: await rows(), volumes: readdirSync(pool()).sort(), mounts: mountsUnder(d.dir) }).toEqual(before);
      expect(cgroupsOf('x1')).toEqual([]);
    });

    it('a duplicate name is 409 and the existing instance is untouched', async () => {
      await d.waitOp(await create({ name: 'dup', source: { type: 'image', alias: 'bb' } }));
      try {
        const res = await create({ name: 'dup', source: { type: 'none' } });
        expect(res.status).toBe(409);
        expect(res.json.error).toBe('An instance with that name already exists');
        expect(existsSync(join(pool(), 'dup'))).toBe(true);
        expect((await d.api('GET', '/1.0/instances/dup')).json.metadata.config['volatile.base_image']).toBe(fingerprint);
      } finally {
        await d.waitOp(await d.api('DELETE', '/1.0/instances/dup'));
      }
    });

    it('unknown instances are 404 everywhere', async () => {
      for (const [method, path] of [
        ['GET', '/1.0/instances/ghost'],
        ['GET', '/1.0/instances/ghost/state'],
        ['PUT', '/1.0/instances/ghost/state'],
        ['DELETE', '/1.0/instances/ghost'],
        ['PATCH', '/1.0/instances/ghost'],
        ['GET', '/1.0/instances/ghost/logs'],
      ]) {
        const res = await d.api(method, path, { body: { action: 'start' } });
        expect([method, path, res.status, res.json.error]).toEqual([method, path, 404, 'Instance not found']);
      }
    });
  });
});
