/**
 * Debian's real `lxc` client (lxd-client 5.0) driving instances on a real lodged with real
 * containers: launch (image templates render the hostname), list with state columns, info and
 * its log, config set with the limit visible in the container's cgroup, stop/start/restart/pause,
 * rename and move, config show, ephemeral launch, delete, and the client's view of bad input.
 * HOME/LXD_CONF point at a private temp dir; LXD_DIR at the daemon.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageStore } from '@lodge/image';
import { ImagesRepository, InstancesRepository } from '@lodge/state';
import { EngineDaemon, IMAGES, mountsUnder, startEngineDaemon } from '../engine-daemon';
import { LxcResult, runLxc } from '../support';

const LXC = '/usr/bin/lxc';

/**
 * The busybox test image with LXD-style templates: /etc/hostname is rendered from the instance
 * name on create, copy and rename (busybox's init sets the hostname from that file), and a start
 * template records every start.
 */
function buildTemplatedImage(dir: string): string {
  const src = join(dir, 'image');
  mkdirSync(join(src, 'templates'), { recursive: true });
  cpSync(join(IMAGES, 'busybox', 'rootfs'), join(src, 'rootfs'), { recursive: true, verbatimSymlinks: true });
  writeFileSync(
    join(src, 'metadata.yaml'),
    [
      'architecture: x86_64',
      'creation_date: 1795507322',
      'properties:',
      '  os: busybox',
      '  description: BusyBox with templates',
      'templates:',
      '  /etc/hostname:',
      '    when: [create, copy, rename]',
      '    template: hostname.tpl',
      '  /etc/lodge-started:',
      '    when: [start]',
      '    template: started.tpl',
      '',
    ].join('\n'),
  );
  writeFileSync(join(src, 'templates', 'hostname.tpl'), '{{ container.name }}\n');
  writeFileSync(join(src, 'templates', 'started.tpl'), 'started as {{ instance.name }} ({{ trigger }})\n');
  const out = join(dir, 'templated.tar.gz');
  execFileSync('tar', ['-czf', out, '--numeric-owner', '-C', src, 'metadata.yaml', 'templates', 'rootfs']);
  return out;
}

/** A file as the container sees it (through its init's root). */
function inContainer(pid: number, path: string): string {
  return readFileSync(join(`/proc/${pid}/root`, path), 'utf8');
}

describe('lxc 5.0 client driving instances', () => {
  let d: EngineDaemon;
  let home: string;
  let work: string;
  const env = () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', LXD_DIR: d.dir, HOME: home, LXD_CONF: join(home, 'lxc-conf') });
  const lxc = (...args: string[]): Promise<LxcResult> => runLxc(LXC, env(), args);
  const ok = async (...args: string[]): Promise<string> => {
    const r = await lxc(...args);
    if (r.code !== 0) throw new Error(`lxc ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  };
  const rows = async () => (await d.daemon.app.get(InstancesRepository).list()).map((r) => r.name).sort();
  const pool = () => join(d.dir, 'storage-pools', 'default', 'containers');

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'lodge-lxc-home-'));
    work = mkdtempSync(join(tmpdir(), 'lodge-lxc-img-'));
    d = await startEngineDaemon('instances-lxc');
    await lxc('remote', 'list'); // first run writes the client's config
    // the image goes in through the engine: this suite is about instances, not the images API
    const info = await d.daemon.app.get(ImageStore).importUnified(buildTemplatedImage(work), { unpack: false });
    const images = d.daemon.app.get(ImagesRepository);
    await images.create({ fingerprint: info.fingerprint, size: info.size, architecture: info.architecture, filename: 'templated.tar.gz', properties: info.properties });
    await images.createAlias({ name: 'tb', fingerprint: info.fingerprint });
  });
  afterAll(async () => {
    try {
      await d?.cleanup();
    } finally {
      for (const p of [home, work]) if (p) rmSync(p, { recursive: true, force: true });
    }
  });

  it('lxc launch creates and starts; the image template wrote the hostname', async () => {
    await ok('launch', 'tb', 'web1');
    const c = d.runtime.get('web1');
    expect(c?.state).toBe('running');
    // what the container sees: its root through its init, its hostname through its UTS namespace
    expect(inContainer(c!.pid, '/etc/hostname')).toBe('web1\n');
    expect(execFileSync('nsenter', ['--target', String(c!.pid), '--uts', 'hostname'], { encoding: 'utf8' }).trim()).toBe('web1');
    expect(inContainer(c!.pid, '/etc/lodge-started')).toBe('started as web1 (start)\n');
    // the create trigger ran once: it is no longer pending
    expect((await ok('config', 'get', 'web1', 'volatile.apply_template')).trim()).toBe('');
  });

  it('lxc list shows name, state and type (state columns come from recursion=2)', async () => {
    const csv = await ok('list', '--format', 'csv', '-c', 'nstP');
    expect(csv.trim().split('\n')).toEqual(['web1,RUNNING,CONTAINER,default']);
    const table = await ok('list');
    expect(table).toMatch(/\|\s*web1\s*\|\s*RUNNING\s*\|/);
    const json = JSON.parse(await ok('list', '--format', 'json'));
    expect(json[0].state.pid).toBe(d.runtime.get('web1')!.pid);
  });

  it('lxc info shows status, pid and resources; --show-log shows the lifecycle log', async () => {
    const info = await ok('info', 'web1');
    expect(info).toMatch(/Name: web1/);
    expect(info).toMatch(/Status: RUNNING/);
    expect(info).toMatch(new RegExp(`PID: ${d.runtime.get('web1')!.pid}`));
    expect(info).toMatch(/Processes: \d+/);
    const withLog = await ok('info', 'web1', '--show-log');
    expect(withLog).toMatch(/started, init pid \d+/);
  });

  it('lxc config set limits.memory reaches the running container\'s cgroup; lxc config show has it', async () => {
    await ok('config', 'set', 'web1', 'limits.memory', '64MiB');
    const c = d.runtime.get('web1')!;
    const files = c.cgroup.paths.flatMap((p) => ['memory.max', 'memory.limit_in_bytes'].map((f) => join(p, f))).filter(existsSync);
    expect(files.map((f) => readFileSync(f, 'utf8').trim())).toContain(String(64 * 1024 * 1024));
    const shown = await ok('config', 'show', 'web1');
    expect(shown).toMatch(/limits\.memory: 64MiB/);
    expect(shown).toMatch(/image\.os: busybox/);
    expect(shown).toMatch(/volatile\.base_image: [0-9a-f]{64}/);
  });

  it('lxc config set refuses unknown keys, bad values and volatile keys', async () => {
    const unknown = await lxc('config', 'set', 'web1', 'bogus.key', '1');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/Unknown configuration key: bogus\.key/);
    const badValue = await lxc('config', 'set', 'web1', 'limits.memory', 'lots');
    expect(badValue.code).not.toBe(0);
    expect(badValue.stderr).toMatch(/Invalid value "lots" for config key "limits.memory"/);
    const volatile = await lxc('config', 'set', 'web1', 'volatile.base_image', 'f'.repeat(64));
    expect(volatile.code).not.toBe(0);
    expect(volatile.stderr).toMatch(/managed by the daemon/);
    expect((await ok('config', 'get', 'web1', 'limits.memory')).trim()).toBe('64MiB');
  });

  it('lxc pause freezes, lxc start resumes, lxc restart gives a new init, lxc stop stops', async () => {
    await ok('pause', 'web1');
    expect(d.runtime.get('web1')!.state).toBe('frozen');
    expect(await ok('list', '--format', 'csv', '-c', 'ns')).toBe('web1,FROZEN\n');
    await ok('start', 'web1');
    expect(d.runtime.get('web1')!.state).toBe('running');
    const pid = d.runtime.get('web1')!.pid;
    await ok('restart', 'web1', '--force');
    expect(d.runtime.get('web1')!.pid).not.toBe(pid);
    await ok('stop', 'web1', '--force');
    expect(d.runtime.get('web1')).toBeUndefined();
    expect(await ok('list', '--format', 'csv', '-c', 'ns')).toBe('web1,STOPPED\n');
    const again = await lxc('stop', 'web1');
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/already stopped/);
  });

  it('lxc rename and lxc move rename a stopped instance; the rename template runs at the next start', async () => {
    await ok('rename', 'web1', 'web2');
    expect(await rows()).toEqual(['web2']);
    expect(existsSync(join(pool(), 'web2'))).toBe(true);
    await ok('move', 'web2', 'web3');
    expect(await rows()).toEqual(['web3']);
    await ok('start', 'web3');
    expect(inContainer(d.runtime.get('web3')!.pid, '/etc/hostname')).toBe('web3\n');
    const running = await lxc('rename', 'web3', 'web4');
    expect(running.code).not.toBe(0);
    expect(running.stderr).toMatch(/Renaming of running instance not allowed/);
    await ok('stop', 'web3', '--force');
  });

  it('lxc delete refuses a running instance and removes a stopped one completely', async () => {
    await ok('start', 'web3');
    const refused = await lxc('delete', 'web3');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/running/i);
    await ok('delete', 'web3', '--force');
    expect(await rows()).toEqual([]);
    expect(existsSync(join(pool(), 'web3'))).toBe(false);
    expect(mountsUnder(d.dir)).toEqual([]);
  });

  it('lxc launch --ephemeral, then lxc stop: the instance is gone', async () => {
    await ok('launch', 'tb', 'tmp1', '--ephemeral');
    expect(d.runtime.get('tmp1')?.state).toBe('running');
    expect((await ok('list', '--format', 'csv', '-c', 'nsP')).trim()).toBe('tmp1,RUNNING,default');
    await ok('stop', 'tmp1', '--force');
    expect(await rows()).toEqual([]);
    expect((await ok('list', '--format', 'csv')).trim()).toBe('');
    expect(existsSync(join(pool(), 'tmp1'))).toBe(false);
  });

  it('bad input through the client: invalid name, unknown image, duplicate name', async () => {
    const badName = await lxc('init', 'tb', 'bad_name');
    expect(badName.code).not.toBe(0);
    expect(badName.stderr).toMatch(/Invalid instance name "bad_name"/);
    const noImage = await lxc('init', 'nope', 'x1');
    expect(noImage.code).not.toBe(0);
    expect(noImage.stderr).toMatch(/not found/i);
    await ok('init', 'tb', 'dup1');
    const dup = await lxc('init', 'tb', 'dup1');
    expect(dup.code).not.toBe(0);
    expect(dup.stderr).toMatch(/already exists/);
    await ok('delete', 'dup1');
    expect(await rows()).toEqual([]);
  });
});
