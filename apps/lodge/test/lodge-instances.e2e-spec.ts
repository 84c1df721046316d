/**
 * The `lodge` binary driving instances on a real lodged with real containers: launch/init,
 * list in all four formats, info, start/stop/restart/pause, config get/set/unset/show/edit
 * (PUT with the ETag), profiles, ephemeral instances, delete, and bad input answered with the
 * daemon's wording and nothing left behind.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { EngineDaemon, importBusybox, startEngineDaemon } from '../../lodged/test/engine-daemon';
import { baseEnv, lodgeFor } from './run-lodge';

describe('lodge CLI: instances, config and profiles', () => {
  let d: EngineDaemon;
  let home: string;
  const { lodge, withInput, ok } = lodgeFor(() => baseEnv(home, d.dir));
  const status = async (name: string) => (await d.api('GET', `/1.0/instances/${name}`)).json.metadata?.status;
  const pidOf = async (name: string): Promise<number> => (await d.api('GET', `/1.0/instances/${name}/state`)).json.metadata.pid;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'lodge-cli-inst-'));
    d = await startEngineDaemon('cliinst');
    await importBusybox(d, 'bb');
  });
  afterAll(async () => {
    try {
      await d?.cleanup();
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('launch creates and starts a real container; list shows it in table, csv, json and yaml', async () => {
    expect(await ok('launch', 'bb', 'c1')).toBe('Creating c1\nStarting c1\n');
    const pid = await pidOf('c1');
    expect(pid).toBeGreaterThan(0);
    expect(existsSync(`/proc/${pid}`)).toBe(true);

    const table = await ok('list');
    const lines = table.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^\+-+\+-+\+/);
    expect(lines[1].split('|').map((c) => c.trim())).toEqual(['', 'NAME', 'STATE', 'IPV4', 'IPV6', 'TYPE', 'SNAPSHOTS', '']);
    expect(lines[3].split('|').map((c) => c.trim())).toEqual(['', 'c1', 'RUNNING', '', '', 'CONTAINER', '0', '']);

    expect(await ok('list', '--format', 'csv')).toBe('c1,RUNNING,,,CONTAINER,0\n');
    const json = JSON.parse(await ok('list', '--format', 'json'));
    expect(json.map((i: any) => [i.name, i.status, i.state.pid])).toEqual([['c1', 'Running', pid]]);
    const yaml = parse(await ok('list', '-f', 'yaml'));
    expect(yaml[0].name).toBe('c1');
    expect(yaml[0].state.pid).toBe(pid);
  });

  it('info shows the state of the running container and its log', async () => {
    const pid = await pidOf('c1');
    const info = await ok('info', 'c1');
    expect(info).toContain('Name: c1\nStatus: RUNNING\nType: container\n');
    expect(info).toContain(`PID: ${pid}\n`);
    expect(info).toMatch(/Processes: [1-9]/);
    const withLog = await ok('info', 'c1', '--show-log');
    expect(withLog).toContain('\nLog:\n');
  });

  it('pause freezes, start resumes, restart gives a new init, stop stops', async () => {
    await ok('pause', 'c1');
    expect(await status('c1')).toBe('Frozen');
    expect((await ok('list', '-f', 'csv')).split(',')[1]).toBe('FROZEN');
    await ok('start', 'c1');
    expect(await status('c1')).toBe('Running');
    const before = await pidOf('c1');
    await ok('restart', 'c1', '--force');
    const after = await pidOf('c1');
    expect(await status('c1')).toBe('Running');
    expect(after).not.toBe(before);
    expect(existsSync(`/proc/${before}`)).toBe(false);
    await ok('stop', 'c1', '--force');
    expect(await status('c1')).toBe('Stopped');
    expect(existsSync(`/proc/${after}`)).toBe(false);
    await ok('start', 'c1');
    expect(await status('c1')).toBe('Running');
  });

  it('init creates without starting, with -c config; config get/set/unset/show go through the daemon', async () => {
    expect(await ok('init', 'bb', 'c2', '-c', 'user.note=hello', '-c', 'limits.memory=64MiB')).toBe('Creating c2\n');
    expect(await status('c2')).toBe('Stopped');
    expect(await ok('config', 'get', 'c2', 'user.note')).toBe('hello\n');

    await ok('config', 'set', 'c2', 'user.a', '1');
    await ok('config', 'set', 'c2', 'user.b=2', 'user.c=3');
    const cfg = (await d.api('GET', '/1.0/instances/c2')).json.metadata.config;
    expect([cfg['user.a'], cfg['user.b'], cfg['user.c'], cfg['limits.memory']]).toEqual(['1', '2', '3', '64MiB']);

    await ok('config', 'unset', 'c2', 'user.a');
    expect((await d.api('GET', '/1.0/instances/c2')).json.metadata.config['user.a']).toBeUndefined();
    const unsetMissing = await lodge('config', 'unset', 'c2', 'user.a');
    expect(unsetMissing.code).toBe(1);
    expect(unsetMissing.stderr).toBe("Error: Can't unset key 'user.a', it's not currently set\n");

    const shown = parse(await ok('config', 'show', 'c2'));
    expect(shown.config['user.note']).toBe('hello');
    expect(shown.profiles).toEqual(['default']);
    expect(Object.keys(shown)).toEqual(expect.arrayContaining(['architecture', 'config', 'devices', 'ephemeral', 'profiles', 'stateful', 'description']));
    expect(shown.status).toBeUndefined();
  });

  it('config set of an unknown key fails with the daemon wording and changes nothing', async () => {
    const before = (await d.api('GET', '/1.0/instances/c2')).json.metadata.config;
    const r = await lodge('config', 'set', 'c2', 'bogus.key', 'x');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Unknown configuration key: bogus.key');
    expect((await d.api('GET', '/1.0/instances/c2')).json.metadata.config).toEqual(before);
  });

  it('config edit reads YAML (from stdin when not a terminal) and PUTs it', async () => {
    const current = await ok('config', 'show', 'c2');
    const edited = parse(current);
    edited.description = 'edited by lodge';
    edited.config['user.edited'] = 'yes';
    const { stringify } = await import('yaml');
    await withInput(stringify(edited), 'config', 'edit', 'c2').then((r) => expect([r.code, r.stderr]).toEqual([0, '']));
    const m = (await d.api('GET', '/1.0/instances/c2')).json.metadata;
    expect([m.description, m.config['user.edited']]).toEqual(['edited by lodge', 'yes']);

    const bad = await withInput('config: [not, a, map]\n', 'config', 'edit', 'c2');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('Error: Invalid YAML: config must be a mapping\n');
  });

  it('profiles: create, list, edit, show, assign (expanded config in the instance), delete', async () => {
    expect(await ok('profile', 'create', 'p1', '--description', 'test profile')).toBe('Profile p1 created\n');
    expect(await ok('profile', 'list', '-f', 'csv')).toContain('p1,test profile,0\n');
    const r = await withInput('config:\n  user.from-profile: "42"\ndescription: edited profile\ndevices: {}\n', 'profile', 'edit', 'p1');
    expect([r.code, r.stderr]).toEqual([0, '']);
    const shown = parse(await ok('profile', 'show', 'p1'));
    expect([shown.description, shown.config['user.from-profile']]).toEqual(['edited profile', '42']);

    expect(await ok('profile', 'assign', 'c2', 'default,p1')).toBe('Profiles default, p1 applied to c2\n');
    const m = (await d.api('GET', '/1.0/instances/c2')).json.metadata;
    expect(m.profiles).toEqual(['default', 'p1']);
    expect(m.expanded_config['user.from-profile']).toBe('42');
    expect(await ok('profile', 'list', '-f', 'csv')).toContain('p1,edited profile,1\n');

    const inUse = await lodge('profile', 'delete', 'p1');
    expect(inUse.code).toBe(1);
    expect((await d.api('GET', '/1.0/profiles/p1')).status).toBe(200);

    await ok('profile', 'assign', 'c2', 'default');
    expect(await ok('profile', 'delete', 'p1')).toBe('Profile p1 deleted\n');
    expect((await d.api('GET', '/1.0/profiles/p1')).status).toBe(404);
  });

  it('an ephemeral instance is gone once stopped', async () => {
    await ok('launch', 'bb', 'eph', '--ephemeral');
    expect((await ok('list', 'eph', '-f', 'csv')).trim()).toBe('eph,RUNNING,,,CONTAINER (EPHEMERAL),0');
    await ok('stop', 'eph', '--force');
    expect((await d.api('GET', '/1.0/instances/eph')).status).toBe(404);
  });

  it('init without a name takes the name the daemon picks', async () => {
    const out = await ok('init', 'bb');
    const m = /^Creating (\S+)\n$/.exec(out);
    expect(m).not.toBeNull();
    expect((await d.api('GET', `/1.0/instances/${m![1]}`)).json.metadata.status).toBe('Stopped');
    await ok('delete', m![1]);
    expect((await d.api('GET', `/1.0/instances/${m![1]}`)).status).toBe(404);
  });

  it('delete refuses a running instance without --force, stops it with --force', async () => {
    const pid = await pidOf('c1');
    const refused = await lodge('delete', 'c1');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe('Error: The instance is currently running, stop it first or pass --force\n');
    expect(await status('c1')).toBe('Running');

    await ok('delete', 'c1', 'c2', '--force');
    expect((await d.api('GET', '/1.0/instances/c1')).status).toBe(404);
    expect((await d.api('GET', '/1.0/instances/c2')).status).toBe(404);
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(await ok('list', '-f', 'csv')).toBe('');
  });

  it('bad input: unknown image, unknown instance, bad -c pair: clear errors, nothing created', async () => {
    const noImage = await lodge('launch', 'no-such-image', 'x1');
    expect(noImage.code).toBe(1);
    expect(noImage.stderr).toMatch(/^Error: .*not found/i);
    const badPair = await lodge('init', 'bb', 'x2', '-c', 'novalue');
    expect([badPair.code, badPair.stderr]).toEqual([1, 'Error: Bad key=value pair: "novalue"\n']);
    const missing = await lodge('start', 'nope');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^Error: .*not found/i);
    expect((await d.api('GET', '/1.0/instances')).json.metadata).toEqual([]);
  });

  it('info without a name shows the server; --project scopes every call', async () => {
    const server = parse(await ok('info'));
    expect([server.api_version, server.auth]).toEqual(['1.0', 'trusted']);
    expect(await ok('--project', 'default', 'list', '-f', 'csv')).toBe('');
    const r = await lodge('--project', 'no-such-project', 'list');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: .*not found/i);
  });

  it('a daemon that is not there is said plainly', async () => {
    const r = await lodge('--dir', join(home, 'nowhere'), 'list');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Lodge daemon not reachable at ${join(home, 'nowhere', 'unix.socket')}`);
  });
});
