/**
 * Lodge as a nova-compute host, driven over a real RabbitMQ by nova's own code (Debian's
 * python3-nova): nova.compute.rpcapi.ComputeAPI casts and calls, and a conductor built from
 * nova's ConductorManager on a sqlite nova database (test/nova/harness). Every state checked
 * here is read back from nova's database, as nova-api would show it.
 */
import { readFileSync, existsSync, readdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { EngineDaemon, importBusybox, startEngineDaemon } from '../engine-daemon';
import { eventually, HarnessError, NovaSide, startNovaSide } from '../nova-harness';
import { lxcClient } from '../support';

jest.setTimeout(180_000);

describe('nova compute over AMQP (nova 26 ComputeAPI + conductor)', () => {
  let nova: NovaSide;
  let d: EngineDaemon;
  const imageRef = randomUUID();
  const client = lxcClient(() => d.dir);
  const inside = (name: string, ...cmd: string[]) => client.ok(['exec', name, '--', ...cmd]);

  beforeAll(async () => {
    nova = await startNovaSide('compute');
    try {
      d = await startEngineDaemon('nova', {
        nova: { amqpUrl: nova.transportUrl, host: nova.computeHost, rpcTimeout: 10, timers: { reportInterval: 1, resourceInterval: 2, powerSyncInterval: 1 } },
      });
      await importBusybox(d, imageRef);
      await nova.cmd('create_flavor', { name: 'm1.lodge', vcpus: 1, memory_mb: 256, root_gb: 1 });
    } catch (err) {
      await nova.close();
      throw err;
    }
  });

  afterAll(async () => {
    client.cleanup();
    await d?.cleanup();
    await nova?.close();
  });

  const waitFor = (uuid: string, state: Record<string, unknown>) => nova.cmd('wait', { uuid, ...state, timeout: 30 }, 40_000);
  /** Waits until nova recorded `count` finished events of that name for the instance. */
  const finishedEvents = (uuid: string, event: string, count: number) =>
    eventually(async () => {
      const vm = await nova.cmd('get', { uuid });
      const done = vm.events.filter((e: any) => e.event === event && e.finished);
      return done.length >= count ? { vm, done } : undefined;
    }, 30_000);

  it('registers the nova-compute service, heartbeats it and reports a ComputeNode', async () => {
    const first = await eventually(async () => {
      const s = await nova.cmd('service');
      return s.service && s.service.report_count >= 2 && s.compute_nodes.length === 1 ? s : undefined;
    }, 30_000);
    expect(first.service).toMatchObject({ host: nova.computeHost, binary: 'nova-compute', topic: 'compute', version: 64, disabled: false });
    expect(first.compute_nodes[0]).toMatchObject({ hypervisor_hostname: nova.computeHost, hypervisor_type: 'lxd', vcpus: cpus().length });
    expect(first.compute_nodes[0].memory_mb).toBeGreaterThan(1024);
    expect(JSON.parse(first.compute_nodes[0].cpu_info).topology).toBeDefined();
    const later = await eventually(async () => {
      const s = await nova.cmd('service');
      return s.service.report_count > first.service.report_count ? s : undefined;
    }, 10_000);
    expect(later.service.report_count).toBeGreaterThan(first.service.report_count);
  });

  describe('an instance through its whole life', () => {
    let uuid: string;
    let name: string;

    it('builds: vm active, power running, a container with the flavor limits and the config drive', async () => {
      const boot = await nova.cmd('boot', {
        name: 'vm1',
        flavor: 'm1.lodge',
        image_ref: imageRef,
        user_data: '#!/bin/sh\necho hello from user data\n',
        metadata: { role: 'web' },
        injected_files: [['/etc/motd', 'welcome to lodge\n']],
      });
      uuid = boot.uuid;
      name = boot.name;
      const vm = await waitFor(uuid, { vm_state: 'active', task_state: null, power_state: 1 });
      expect(vm).toMatchObject({ host: nova.computeHost, node: nova.computeHost, launched_on: nova.computeHost });
      expect(vm.launched_at).toBeTruthy();
      const { done } = await finishedEvents(uuid, 'compute__do_build_and_run_instance', 1);
      expect(done[0]).toMatchObject({ action: 'create', result: 'Success', host: nova.computeHost });

      // an ordinary Lodge instance, visible through the REST API, tagged with its nova uuid
      const res = await d.api('GET', `/1.0/instances/${name}`);
      expect(res.status).toBe(200);
      expect(res.json.metadata.status).toBe('Running');
      expect(res.json.metadata.config).toMatchObject({ 'limits.cpu': '1', 'limits.memory': '256MiB', 'user.nova.uuid': uuid, 'environment.product_name': 'OpenStack Nova' });
      // the kernel enforces the flavor: 256 MiB in the memory cgroup, one CPU in the cpuset
      expect((await inside(name, 'cat', '/proc/self/cgroup')).length).toBeGreaterThan(0);
      expect(Number(readCgroup(d.parent, name, 'memory', 'memory.limit_in_bytes'))).toBe(256 * 1024 * 1024);
      expect(cpuCount(readCgroup(d.parent, name, 'cpuset', 'cpuset.cpus'))).toBe(1);
      // the config drive: user data, metadata and injected files
      expect(await inside(name, 'cat', '/config-drive/openstack/latest/user_data')).toBe('#!/bin/sh\necho hello from user data\n');
      const meta = JSON.parse(await inside(name, 'cat', '/config-drive/openstack/latest/meta_data.json'));
      expect(meta).toMatchObject({ uuid, meta: { role: 'web' }, files: [{ path: '/etc/motd', content_path: '/content/0000' }] });
      expect(await inside(name, 'cat', '/config-drive/openstack/content/0000')).toBe('welcome to lodge\n');
      expect(await inside(name, 'cat', '/proc/1/environ')).toContain('product_name=OpenStack Nova');
    });

    it('returns the console output, honouring tail_length', async () => {
      const all = await eventually(async () => {
        const out: string = await nova.cmd('console_output', { uuid });
        return out.includes('lodge-busybox: booted') ? out : undefined;
      }, 10_000);
      expect(all).toContain('lodge-busybox: booted');
      const last = await nova.cmd('console_output', { uuid, tail_length: 1 });
      expect(last.split('\n').filter(Boolean)).toHaveLength(1);
      expect(all.endsWith(last)).toBe(true);
    });

    it('answers get_host_uptime and get_instance_diagnostics', async () => {
      expect(await nova.cmd('host_uptime')).toMatch(/up .*load average/);
      const diag = await nova.cmd('diagnostics', { uuid });
      expect(diag['nova_object.data']).toMatchObject({ state: 'running', driver: 'libvirt', hypervisor: 'lxc', num_cpus: 1, config_drive: true });
      expect(diag['nova_object.data'].memory_details['nova_object.data'].maximum).toBe(256);
    });

    it('stops and starts', async () => {
      await nova.cmd('stop', { uuid });
      await waitFor(uuid, { vm_state: 'stopped', task_state: null, power_state: 4 });
      expect((await d.api('GET', `/1.0/instances/${name}`)).json.metadata.status).toBe('Stopped');
      await nova.cmd('start', { uuid });
      await waitFor(uuid, { vm_state: 'active', task_state: null, power_state: 1 });
      expect((await d.api('GET', `/1.0/instances/${name}`)).json.metadata.status).toBe('Running');
      const { vm } = await finishedEvents(uuid, 'compute_start_instance', 1);
      expect(vm.events.map((e: any) => `${e.action}/${e.event}:${e.result}`)).toEqual(
        expect.arrayContaining(['stop/compute_stop_instance:Success', 'start/compute_start_instance:Success']),
      );
    });

    it.each(['SOFT', 'HARD'])('reboots (%s): a new init, and active again', async (type) => {
      const before = (await d.api('GET', `/1.0/instances/${name}/state`)).json.metadata.pid;
      const earlier = (await nova.cmd('get', { uuid })).events.filter((e: any) => e.event === 'compute_reboot_instance').map((e: any) => e.request_id);
      const { request_id } = await nova.cmd('reboot', { uuid, type });
      expect(earlier).not.toContain(request_id);
      const vm = await waitFor(uuid, { vm_state: 'active', task_state: null, power_state: 1 });
      const { done } = await finishedEvents(uuid, 'compute_reboot_instance', earlier.length + 1);
      expect(done.find((e: any) => e.request_id === request_id)).toMatchObject({ result: 'Success' });
      expect(vm.faults).toEqual([]);
      const after = (await d.api('GET', `/1.0/instances/${name}/state`)).json.metadata;
      expect(after.status).toBe('Running');
      expect(after.pid).not.toBe(before);
    });

    it('pauses and unpauses (freeze/thaw)', async () => {
      await nova.cmd('pause', { uuid });
      await waitFor(uuid, { vm_state: 'paused', task_state: null, power_state: 3 });
      expect((await d.api('GET', `/1.0/instances/${name}`)).json.metadata.status).toBe('Frozen');
      await nova.cmd('unpause', { uuid });
      await waitFor(uuid, { vm_state: 'active', task_state: null, power_state: 1 });
      expect((await d.api('GET', `/1.0/instances/${name}`)).json.metadata.status).toBe('Running');
    });

    it('suspends and resumes', async () => {
      await nova.cmd('suspend', { uuid });
      await waitFor(uuid, { vm_state: 'suspended', task_state: null, power_state: 7 });
      expect((await d.api('GET', `/1.0/instances/${name}`)).json.metadata.status).toBe('Frozen');
      await nova.cmd('resume', { uuid });
      await waitFor(uuid, { vm_state: 'active', task_state: null, power_state: 1 });
    });

    it('reports a container that stopped by itself as stopped (power-state sync)', async () => {
      await d.instances.stop(name, { force: true });
      await waitFor(uuid, { vm_state: 'stopped', power_state: 4, task_state: null });
      await nova.cmd('start', { uuid });
      await waitFor(uuid, { vm_state: 'active', task_state: null, power_state: 1 });
    });

    it('terminates: the container, its storage and its config drive go; nova soft-deletes the row', async () => {
      await nova.cmd('terminate', { uuid });
      const vm = await waitFor(uuid, { deleted: true });
      expect(vm).toMatchObject({ vm_state: 'deleted', task_state: null, power_state: 0 });
      expect(vm.terminated_at).toBeTruthy();
      expect((await d.api('GET', `/1.0/instances/${name}`)).status).toBe(404);
      expect(existsSync(join(d.dir, 'storage-pools', 'default', 'containers', name))).toBe(false);
      expect(existsSync(join(d.dir, 'nova', 'config-drives', name))).toBe(false);
    });
  });

  describe('failures', () => {
    it('a build from an image the host does not have ends in vm error with a fault, and leaves nothing', async () => {
      const boot = await nova.cmd('boot', { name: 'noimage', flavor: 'm1.lodge', image_ref: randomUUID() });
      const vm = await waitFor(boot.uuid, { vm_state: 'error', task_state: null });
      expect(vm.host).toBeNull();
      expect(vm.faults[0]).toMatchObject({ code: 404, host: nova.computeHost });
      expect(vm.faults[0].message).toMatch(/could not be found/);
      expect((await d.api('GET', `/1.0/instances/${boot.name}`)).status).toBe(404);
    });

    it('a failed spawn with retry info asks the conductor to reschedule, and leaves what was there', async () => {
      // A container that is not nova's already has the name nova's next instance gets: the
      // spawn fails (InstanceExists), which nova-compute turns into a reschedule.
      const probe = await nova.cmd('boot', { name: 'probe', flavor: 'm1.lodge', image_ref: randomUUID() });
      await waitFor(probe.uuid, { vm_state: 'error' });
      const nextName = `instance-${(probe.id + 1).toString(16).padStart(8, '0')}`;
      const made = await d.api('POST', '/1.0/instances', { body: { name: nextName, source: { type: 'image', alias: imageRef }, profiles: ['default'] } });
      await d.waitOp(made);
      const retry = await nova.cmd('boot', { name: 'retry', flavor: 'm1.lodge', image_ref: imageRef, retry: true });
      expect(retry.name).toBe(nextName);
      const got = await eventually(async () => {
        const r = await nova.cmd('reschedules');
        return r.find((x: any) => x.method === 'build_instances' && JSON.stringify(x).includes(retry.uuid));
      }, 30_000);
      expect(got).toBeDefined();
      const vm = await nova.cmd('get', { uuid: retry.uuid });
      expect(vm).toMatchObject({ vm_state: 'building', task_state: 'scheduling', host: null, node: null });
      // the other container is untouched
      const other = await d.api('GET', `/1.0/instances/${nextName}`);
      expect(other.status).toBe(200);
      expect(other.json.metadata.config['user.nova.uuid']).toBeUndefined();
      await d.api('DELETE', `/1.0/instances/${nextName}`).then((r) => d.waitOp(r));
    });

    it('an action on an instance that does not exist here is InstanceNotFound', async () => {
      const ghost = { 'nova_object.name': 'Instance', 'nova_object.namespace': 'nova', 'nova_object.version': '2.7', 'nova_object.data': { uuid: randomUUID(), id: 999999, name: 'instance-000f423f' } };
      await expect(nova.cmd('call', { method: 'get_console_output', version: '6.0', args: { instance: ghost, tail_length: null } })).rejects.toMatchObject({
        errorClass: 'InstanceNotFound',
      });
    });

    it('unknown methods, wrong versions and missing arguments get the failures oslo sends', async () => {
      await expect(nova.cmd('call', { method: 'no_such_method', version: '6.0' })).rejects.toMatchObject({ errorClass: 'NoSuchMethod' });
      await expect(nova.cmd('call', { method: 'get_host_uptime', version: '7.0' })).rejects.toMatchObject({ errorClass: 'UnsupportedVersion' });
      await expect(nova.cmd('call', { method: 'get_console_output', version: '6.0', args: {} })).rejects.toMatchObject({ errorClass: 'TypeError' });
      // and the host still serves
      expect(await nova.cmd('host_uptime')).toMatch(/load average/);
    });
  });
});


function readCgroup(parent: string, name: string, controller: string, file: string): string {
  const base = join('/sys/fs/cgroup', controller);
  const hits: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 4 || !existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const p = join(dir, e.name);
      if (e.name === name && p.includes(parent)) hits.push(p);
      else walk(p, depth + 1);
    }
  };
  walk(base, 0);
  if (hits.length === 0) throw new Error(`no ${controller} cgroup for ${name} under ${parent}`);
  return readFileSync(join(hits[0], file), 'utf8').trim();
}

function cpuCount(list: string): number {
  return list.split(',').reduce((n, part) => {
    const [a, b] = part.split('-').map(Number);
    return n + (b === undefined ? 1 : b - a + 1);
  }, 0);
}
