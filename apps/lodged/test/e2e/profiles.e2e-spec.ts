import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineDaemon, importBusybox, startEngineDaemon } from '../engine-daemon';
import { collect, LxcResult, openWs, runLxc } from '../support';

/**
 * Profiles and host resources through Debian's real `lxc` client (lxd-client 5.0) against a real
 * lodged with its engine: LXD_DIR points at the daemon, HOME/LXD_CONF at a private temp dir.
 * Instances are made with the engine's use cases (InstancesService) and started for real, to see
 * what a profile puts into a running container.
 */
const LXC = '/usr/bin/lxc';

describe('profiles and resources through the lxc client', () => {
  let d: EngineDaemon;
  let home: string;
  const env = () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', LXD_DIR: d.dir, HOME: home, LXD_CONF: join(home, 'lxc-conf') });
  const lxc = (...args: string[]): Promise<LxcResult> => runLxc(LXC, env(), args);

  /** `lxc <args>` with `input` on stdin (lxc profile edit reads YAML from a pipe). */
  const lxcWithInput = (input: string, ...args: string[]): Promise<LxcResult> => runLxc(LXC, env(), args, input);

  /** Runs a command in a running instance and returns its stdout. */
  const execIn = async (name: string, argv: string[]): Promise<string> => {
    const p = await d.runtime.get(name)!.exec({ argv });
    p.stdin?.end();
    return (await p.output()).stdout;
  };

  const profile = async (name: string) => (await d.api('GET', `/1.0/profiles/${name}`)).json.metadata;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'lodge-profiles-home-'));
    d = await startEngineDaemon('profiles');
    await importBusybox(d, 'bb');
    // First run: the client writes its config and prints a welcome text.
    await lxc('remote', 'list');
  });
  afterAll(async () => {
    try {
      await d?.cleanup();
    } finally {
      if (home) rmSync(home, { recursive: true, force: true });
    }
  });

  it('lists and shows the default profile with its root disk', async () => {
    const list = await lxc('profile', 'list');
    expect(list.stderr).toBe('');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/\|\s*default\s*\|/);
    const show = await lxc('profile', 'show', 'default');
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/name: default/);
    expect(show.stdout).toMatch(/root:\n\s+path: \/\n\s+pool: default\n\s+type: disk/);
    const urls = await d.api('GET', '/1.0/profiles?project=default');
    expect(urls.json.metadata).toEqual(['/1.0/profiles/default']);
    const full = await d.api('GET', '/1.0/profiles?recursion=1');
    expect(full.json.metadata).toEqual([
      {
        config: {},
        description: 'Default LXD profile',
        devices: { root: { path: '/', pool: 'default', type: 'disk' } },
        name: 'default',
        used_by: [],
      },
    ]);
    const otherProject = await d.api('GET', '/1.0/profiles?project=elsewhere');
    expect([otherProject.status, otherProject.json.error]).toEqual([404, 'Project not found']);
  });

  it('create, set, get, unset and show', async () => {
    const create = await lxc('profile', 'create', 'web');
    expect(create.stderr).toBe('');
    expect(create.code).toBe(0);
    expect((await lxc('profile', 'set', 'web', 'limits.memory', '256MiB')).code).toBe(0);
    expect((await lxc('profile', 'set', 'web', 'environment.GREETING', 'hello')).code).toBe(0);
    const get = await lxc('profile', 'get', 'web', 'limits.memory');
    expect(get.stdout.trim()).toBe('256MiB');
    const unset = await lxc('profile', 'unset', 'web', 'limits.memory');
    expect(unset.stderr).toBe('');
    expect(unset.code).toBe(0);
    expect((await profile('web')).config).toEqual({ 'environment.GREETING': 'hello' });
    const show = await lxc('profile', 'show', 'web');
    expect(show.stdout).toMatch(/environment.GREETING: hello/);
    expect(show.stdout).not.toMatch(/limits.memory/);
  });

  it('edit replaces the profile with YAML from stdin', async () => {
    await lxc('profile', 'create', 'edited');
    const yaml = [
      'description: Edited from a pipe',
      'config:',
      '  limits.cpu: "1"',
      '  user.note: edited',
      'devices:',
      '  data:',
      '    type: disk',
      '    source: /srv',
      '    path: /mnt/data',
      '',
    ].join('\n');
    const edit = await lxcWithInput(yaml, 'profile', 'edit', 'edited');
    expect(edit.stderr).toBe('');
    expect(edit.code).toBe(0);
    const p = await profile('edited');
    expect(p.description).toBe('Edited from a pipe');
    expect(p.config).toEqual({ 'limits.cpu': '1', 'user.note': 'edited' });
    expect(p.devices).toEqual({ data: { type: 'disk', source: '/srv', path: '/mnt/data' } });

    const bad = await lxcWithInput('config:\n  limits.bogus: "1"\n', 'profile', 'edit', 'edited');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('Unknown configuration key: limits.bogus');
    expect((await profile('edited')).config).toEqual({ 'limits.cpu': '1', 'user.note': 'edited' });
  });

  it('device add and remove', async () => {
    await lxc('profile', 'create', 'devs');
    const add = await lxc('profile', 'device', 'add', 'devs', 'shared', 'disk', 'source=/srv', 'path=/mnt/shared');
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    expect((await profile('devs')).devices).toEqual({ shared: { type: 'disk', source: '/srv', path: '/mnt/shared' } });
    const again = await lxc('profile', 'device', 'add', 'devs', 'shared', 'disk', 'source=/srv', 'path=/mnt/other');
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/already exists/);
    const bad = await lxc('profile', 'device', 'add', 'devs', 'gadget', 'warp-drive');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('Invalid device type "warp-drive"');
    expect(Object.keys((await profile('devs')).devices)).toEqual(['shared']);
    const remove = await lxc('profile', 'device', 'remove', 'devs', 'shared');
    expect(remove.code).toBe(0);
    expect((await profile('devs')).devices).toEqual({});
  });

  it('copy and rename', async () => {
    await lxc('profile', 'create', 'orig');
    await lxc('profile', 'set', 'orig', 'user.origin', 'orig');
    const copy = await lxc('profile', 'copy', 'orig', 'dup');
    expect(copy.stderr).toBe('');
    expect(copy.code).toBe(0);
    expect((await profile('dup')).config).toEqual({ 'user.origin': 'orig' });

    const rename = await lxc('profile', 'rename', 'dup', 'renamed');
    expect(rename.stderr).toBe('');
    expect(rename.code).toBe(0);
    expect((await d.api('GET', '/1.0/profiles/dup')).status).toBe(404);
    expect((await profile('renamed')).config).toEqual({ 'user.origin': 'orig' });

    const clash = await lxc('profile', 'rename', 'renamed', 'orig');
    expect(clash.code).not.toBe(0);
    expect(clash.stderr).toContain("Name 'orig' already in use");
    const renameDefault = await lxc('profile', 'rename', 'default', 'other');
    expect(renameDefault.code).not.toBe(0);
    expect(renameDefault.stderr).toContain("The 'default' profile cannot be renamed");
    const res = await d.api('POST', '/1.0/profiles/default', { body: { name: 'other' } });
    expect(res.status).toBe(403);
  });

  it('refuses bad input with LXD wording and stores nothing', async () => {
    const dup = await lxc('profile', 'create', 'web');
    expect(dup.code).not.toBe(0);
    expect(dup.stderr).toContain('The profile already exists');
    expect((await d.api('POST', '/1.0/profiles', { body: { name: 'web' } })).status).toBe(409);

    const unknown = await lxc('profile', 'set', 'web', 'limits.bogus', '1');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('Unknown configuration key: limits.bogus');
    const badValue = await lxc('profile', 'set', 'web', 'limits.memory', 'lots');
    expect(badValue.code).not.toBe(0);
    expect(badValue.stderr).toContain('limits.memory');
    const volatile = await d.api('PATCH', '/1.0/profiles/web', { body: { config: { 'volatile.uuid': '0b9e5ac1-6bd0-4e2a-8a6f-3a3f0b0f2c11' } } });
    expect(volatile.status).toBe(400);
    expect(volatile.json.error).toContain('Volatile keys are not allowed in profiles');
    expect((await profile('web')).config).toEqual({ 'environment.GREETING': 'hello' });

    for (const [name, error] of [
      ['', 'No name provided'],
      ['a/b', 'Profile names may not contain slashes'],
      ['..', "Invalid profile name '..'"],
    ]) {
      const res = await d.api('POST', '/1.0/profiles', { body: { name } });
      expect([res.status, res.json.error]).toEqual([400, error]);
    }
    const badPool = await d.api('POST', '/1.0/profiles', {
      body: { name: 'nopool', devices: { root: { type: 'disk', path: '/', pool: 'missing' } } },
    });
    expect(badPool.status).toBe(400);
    expect(badPool.json.error).toBe('Device validation failed for "root": The "missing" storage pool doesn\'t exist');
    expect((await d.api('GET', '/1.0/profiles/nopool')).status).toBe(404);

    const delDefault = await lxc('profile', 'delete', 'default');
    expect(delDefault.code).not.toBe(0);
    expect(delDefault.stderr).toContain("The 'default' profile cannot be deleted");
    expect((await d.api('DELETE', '/1.0/profiles/default')).status).toBe(403);
    const missing = await d.api('DELETE', '/1.0/profiles/nosuch');
    expect([missing.status, missing.json.error]).toEqual([404, 'Profile not found']);
  });

  it('PUT and PATCH honour If-Match (412 on a stale ETag, nothing changed)', async () => {
    const get = await d.api('GET', '/1.0/profiles/web');
    const etag = get.headers.etag as string;
    expect(etag).toMatch(/^"[0-9a-f]{64}"$/);
    const stale = await d.api('PUT', '/1.0/profiles/web', {
      body: { config: { 'user.x': 'y' }, description: '', devices: {} },
      headers: { 'If-Match': '"0000000000000000000000000000000000000000000000000000000000000000"' },
    });
    expect(stale.status).toBe(412);
    expect(stale.json.error).toMatch(/^ETag doesn't match/);
    const stalePatch = await d.api('PATCH', '/1.0/profiles/web', { body: { description: 'x' }, headers: { 'If-Match': '"abc"' } });
    expect(stalePatch.status).toBe(412);
    expect((await profile('web')).config).toEqual({ 'environment.GREETING': 'hello' });

    const patch = await d.api('PATCH', '/1.0/profiles/web', { body: { config: { 'user.added': 'yes' } }, headers: { 'If-Match': etag } });
    expect(patch.status).toBe(200);
    const after = await d.api('GET', '/1.0/profiles/web');
    expect(after.json.metadata.config).toEqual({ 'environment.GREETING': 'hello', 'user.added': 'yes' });
    expect(after.headers.etag).not.toBe(etag);
    const reused = await d.api('PATCH', '/1.0/profiles/web', { body: { description: 'late' }, headers: { 'If-Match': etag } });
    expect(reused.status).toBe(412);
  });

  it('applies profiles in order and the instance last, and a "none" device masks an inherited one', async () => {
    await lxc('profile', 'create', 'first');
    await lxc('profile', 'create', 'second');
    for (const k of ['FOO', 'BAR', 'BAZ']) await lxc('profile', 'set', 'first', `environment.${k}`, 'from-first');
    for (const k of ['BAR', 'BAZ']) await lxc('profile', 'set', 'second', `environment.${k}`, 'from-second');

    await d.instances.create({
      name: 'layered',
      source: { type: 'image', alias: 'bb' },
      profiles: ['default', 'first', 'second'],
      config: { 'environment.BAZ': 'from-instance' },
    });
    // The profile changes after creation: instances expand their profiles when they start.
    expect((await lxc('profile', 'set', 'first', 'environment.LATE', 'set-before-start')).code).toBe(0);
    expect((await profile('first')).used_by).toEqual(['/1.0/instances/layered']);
    expect((await lxc('profile', 'list')).stdout).toMatch(/\|\s*first\s*\|[^|\n]*\|\s*1\s*\|/);

    await d.instances.start('layered');
    const vars = new Map(
      (await execIn('layered', ['env']))
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as [string, string]),
    );
    expect(vars.get('FOO')).toBe('from-first');
    expect(vars.get('BAR')).toBe('from-second');
    expect(vars.get('BAZ')).toBe('from-instance');
    expect(vars.get('LATE')).toBe('set-before-start');

    const inUse = await lxc('profile', 'delete', 'first');
    expect(inUse.code).not.toBe(0);
    expect(inUse.stderr).toContain('Profile is currently in use');
    expect((await d.api('GET', '/1.0/profiles/first')).status).toBe(200);

    // A "none" device in a later profile masks the inherited root disk: no root disk is left.
    await lxc('profile', 'create', 'noroot');
    expect((await lxc('profile', 'device', 'add', 'noroot', 'root', 'none')).code).toBe(0);
    await expect(
      d.instances.create({ name: 'masked', source: { type: 'image', alias: 'bb' }, profiles: ['default', 'noroot'] }),
    ).rejects.toThrow(/root disk/);
    expect((await profile('noroot')).used_by).toEqual([]);

    // ...and a profile change that would take the root disk from an instance is refused.
    const takeRoot = await lxc('profile', 'device', 'add', 'second', 'root', 'none');
    expect(takeRoot.code).not.toBe(0);
    expect(takeRoot.stderr).toContain("At least one instance relies on this profile's root disk device");
    expect((await profile('second')).devices).toEqual({});

    // Renaming a profile in use renames the reference in the instance.
    expect((await lxc('profile', 'rename', 'second', 'second-renamed')).code).toBe(0);
    expect((await profile('second-renamed')).used_by).toEqual(['/1.0/instances/layered']);

    await d.instances.stop('layered', { force: true });
    await d.instances.delete('layered');
    expect((await profile('second-renamed')).used_by).toEqual([]);
    expect((await lxc('profile', 'delete', 'second-renamed')).code).toBe(0);
    expect((await d.api('GET', '/1.0/profiles/second-renamed')).status).toBe(404);
  });

  it('applies a changed limit of a profile to the running instances using it at once', async () => {
    expect((await lxc('profile', 'create', 'capped')).code).toBe(0);
    expect((await lxc('profile', 'set', 'capped', 'limits.memory', '96MiB')).code).toBe(0);
    await d.instances.create({ name: 'capped1', source: { type: 'image', alias: 'bb' }, profiles: ['default', 'capped'] });
    try {
      const c = await d.instances.start('capped1');
      const memLimit = () => {
        const dir = c.cgroup.paths.find((p) => p.includes('/memory'))!;
        const file = dir.includes('/memory/') ? 'memory.limit_in_bytes' : 'memory.max';
        return Number(readFileSync(join(dir, file), 'utf8'));
      };
      expect(memLimit()).toBe(96 * 1024 * 1024);
      const set = await lxc('profile', 'set', 'capped', 'limits.memory', '48MiB');
      expect([set.code, set.stderr]).toEqual([0, '']);
      expect(memLimit()).toBe(48 * 1024 * 1024);
    } finally {
      await d.instances.stop('capped1', { force: true }).catch(() => undefined);
      await d.instances.delete('capped1');
      await lxc('profile', 'delete', 'capped');
    }
  });

  it('emits lifecycle events for profile changes', async () => {
    const ws = await openWs(d.socket, '/1.0/events?type=lifecycle');
    try {
      const events = collect(ws);
      const of = (action: string) => events.next((e) => e.metadata.action === action);
      await lxc('profile', 'create', 'evented');
      await lxc('profile', 'set', 'evented', 'user.k', 'v');
      await lxc('profile', 'rename', 'evented', 'evented2');
      await lxc('profile', 'delete', 'evented2');
      expect((await of('profile-created')).metadata.source).toBe('/1.0/profiles/evented');
      expect((await of('profile-updated')).metadata.source).toBe('/1.0/profiles/evented');
      const renamed = await of('profile-renamed');
      expect([renamed.metadata.source, renamed.metadata.context]).toEqual(['/1.0/profiles/evented2', { old_name: 'evented' }]);
      const deleted = await of('profile-deleted');
      expect(deleted.metadata.source).toBe('/1.0/profiles/evented2');
      expect(deleted.metadata.requestor.protocol).toBe('unix');
      expect(deleted.project).toBe('default');
    } finally {
      ws.close();
    }
  });

  it('lxc info --resources shows the host CPU and memory from /proc', async () => {
    const r = await lxc('info', '--resources');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const arch = (await d.api('GET', '/1.0')).json.metadata.environment.kernel_architecture;
    expect(r.stdout).toMatch(new RegExp(`^CPUs? \\(${arch}\\):`, 'm'));
    const model = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1];
    if (model) expect(r.stdout).toContain(`Name: ${model}`);
    expect(r.stdout).toMatch(/^Memory:$/m);

    const res = (await d.api('GET', '/1.0/resources')).json.metadata;
    expect(res.cpu.total).toBe(cpus().length);
    const threadIds = res.cpu.sockets.flatMap((s: any) => s.cores.flatMap((c: any) => c.threads.map((t: any) => t.id)));
    expect(threadIds.sort((a: number, b: number) => a - b)).toEqual(cpus().map((_, i) => i));
    const memTotalKb = Number(/^MemTotal:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]);
    expect(res.memory.total).toBe(memTotalKb * 1024);
    expect(res.memory.used).toBeGreaterThan(0);
    expect(res.memory.used).toBeLessThan(res.memory.total);
    // lxc prints the total in GiB with two decimals (e.g. "Total: 7.09GiB").
    expect(r.stdout).toContain(`Total: ${(res.memory.total / 1024 ** 3).toFixed(2)}GiB`);
    for (const key of ['gpu', 'network']) expect(res[key]).toEqual({ cards: [], total: 0 });
    for (const key of ['usb', 'pci']) expect(res[key]).toEqual({ devices: [], total: 0 });
    expect(['physical', 'virtual-machine', 'container', 'unknown']).toContain(res.system.type);
  });

  it('lists the host disks from /sys/block with their sizes', async () => {
    const res = (await d.api('GET', '/1.0/resources')).json.metadata;
    // What lsblk would list as disks: block devices backed by a device (no loop, zram, dm).
    const expected = readdirSync('/sys/block')
      .filter((n) => existsSync(`/sys/block/${n}/device`))
      .sort();
    expect(res.storage.disks.map((disk: any) => disk.id)).toEqual(expected);
    expect(res.storage.total).toBe(expected.length);
    for (const disk of res.storage.disks) {
      expect(disk.size).toBe(Number(readFileSync(`/sys/block/${disk.id}/size`, 'utf8')) * 512);
      expect(disk.device).toBe(readFileSync(`/sys/block/${disk.id}/dev`, 'utf8').trim());
    }
  });

  it('GET /1.0/storage-pools/default/resources reports the pool filesystem', async () => {
    const res = await d.api('GET', '/1.0/storage-pools/default/resources');
    expect(res.status).toBe(200);
    const { space, inodes } = res.json.metadata;
    expect(space.total).toBeGreaterThan(0);
    expect(space.used).toBeGreaterThan(0);
    expect(space.used).toBeLessThanOrEqual(space.total);
    expect(inodes.used).toBeLessThanOrEqual(inodes.total);
    expect((await d.api('GET', '/1.0/storage-pools/nosuch/resources')).status).toBe(404);
  });
});
