/**
 * Lodge as nova-compute while RabbitMQ restarts. The broker is a node of this file's own
 * (private-rabbit.ts), so that restarting and killing it touches no other test. nova's side is
 * the usual harness (nova's own ComputeAPI and a conductor from nova's ConductorManager); its
 * oslo.messaging reconnects by itself. Every state checked is read from nova's database.
 */
import { randomUUID } from 'node:crypto';
import { EngineDaemon, importBusybox, startEngineDaemon } from '../engine-daemon';
import { eventually, NovaSide, startNovaSide } from '../nova-harness';
import { PrivateRabbit, startPrivateRabbit } from '../private-rabbit';

jest.setTimeout(300_000);

describe('nova compute across RabbitMQ restarts', () => {
  let rabbit: PrivateRabbit;
  let nova: NovaSide;
  let d: EngineDaemon;
  /** whether the harness process is SIGSTOPped (so cleanup lets it go on first) */
  let harnessPaused = false;
  const imageRef = randomUUID();

  beforeAll(async () => {
    rabbit = await startPrivateRabbit('reconnect');
    try {
      nova = await startNovaSide('reconnect', { broker: rabbit });
      d = await startEngineDaemon('novarc', {
        nova: { amqpUrl: nova.transportUrl, host: nova.computeHost, rpcTimeout: 10, timers: { reportInterval: 1, resourceInterval: 2, powerSyncInterval: 1 } },
      });
      await importBusybox(d, imageRef);
      await nova.cmd('create_flavor', { name: 'm1.lodge', vcpus: 1, memory_mb: 256, root_gb: 1 });
    } catch (err) {
      await nova?.close();
      await rabbit.close();
      throw err;
    }
  });

  afterAll(async () => {
    if (harnessPaused) resumeHarness();
    await d?.cleanup();
    await nova?.close();
    await rabbit?.close();
  });

  const waitFor = (uuid: string, state: Record<string, unknown>) => nova.cmd('wait', { uuid, ...state, timeout: 60 }, 70_000);
  const reportCount = async (): Promise<number> => (await nova.cmd('service')).service.report_count;
  const status = async (name: string) => (await d.api('GET', `/1.0/instances/${name}`)).json.metadata?.status;
  const pauseHarness = () => {
    process.kill(nova.pid, 'SIGSTOP');
    harnessPaused = true;
  };
  const resumeHarness = () => {
    process.kill(nova.pid, 'SIGCONT');
    harnessPaused = false;
  };

  /**
   * What a reconnected compute host shows: its queues (the topic queue, its own server queue and
   * its fanout queue) exist again on the broker with a consumer each, and the Service heartbeat
   * reaches nova's database again.
   */
  const expectReconnected = async () => {
    const queues = await eventually(async () => {
      const qs = await rabbit.queues(nova.vhost);
      const mine = qs.filter((q) => q.name === 'compute' || q.name === `compute.${nova.computeHost}` || q.name.startsWith('compute_fanout_'));
      return mine.length === 3 && mine.every((q) => q.consumers >= 1) ? mine : undefined;
    }, 60_000);
    expect(queues.map((q) => q.name).sort()).toEqual(['compute', `compute.${nova.computeHost}`, expect.stringMatching(/^compute_fanout_[0-9a-f]+$/)]);
    const before = await reportCount();
    const after = await eventually(async () => {
      const n = await reportCount();
      return n >= before + 2 ? n : undefined;
    }, 60_000);
    expect(after).toBeGreaterThanOrEqual(before + 2);
  };

  /** Waits until some call of Lodge to the conductor sits in the conductor's queue (the harness is paused). */
  const conductorCallPending = () =>
    eventually(async () => {
      const q = (await rabbit.queues(nova.vhost)).find((x) => x.name === 'conductor');
      return q && q.messages > 0 ? q : undefined;
    }, 30_000);

  let vm1: { uuid: string; name: string };
  let vm2: { uuid: string; name: string };
  let vm3: { uuid: string; name: string };

  it('serves before any restart: an instance builds and goes active', async () => {
    vm1 = await nova.cmd('boot', { name: 'vm1', flavor: 'm1.lodge', image_ref: imageRef });
    await waitFor(vm1.uuid, { vm_state: 'active', task_state: null, power_state: 1 });
    expect(await status(vm1.name)).toBe('Running');
  });

  it('broker application restarted (stop_app, start_app): Lodge re-declares its queues and heartbeats again', async () => {
    await rabbit.stopApp();
    await rabbit.startApp();
    await expectReconnected();
  });

  it('and the flow completes: stop, start, terminate of that instance, then a new build', async () => {
    await nova.cmd('stop', { uuid: vm1.uuid });
    await waitFor(vm1.uuid, { vm_state: 'stopped', task_state: null, power_state: 4 });
    expect(await status(vm1.name)).toBe('Stopped');
    await nova.cmd('start', { uuid: vm1.uuid });
    await waitFor(vm1.uuid, { vm_state: 'active', task_state: null, power_state: 1 });
    expect(await status(vm1.name)).toBe('Running');
    await nova.cmd('terminate', { uuid: vm1.uuid });
    await waitFor(vm1.uuid, { deleted: true, vm_state: 'deleted', task_state: null });
    expect((await d.api('GET', `/1.0/instances/${vm1.name}`)).status).toBe(404);

    vm2 = await nova.cmd('boot', { name: 'vm2', flavor: 'm1.lodge', image_ref: imageRef });
    await waitFor(vm2.uuid, { vm_state: 'active', task_state: null, power_state: 1 });
    expect(await status(vm2.name)).toBe('Running');
  });

  it('broker node killed and started again on the same port: Lodge reconnects, and a reboot completes', async () => {
    await rabbit.kill();
    await rabbit.start();
    await expectReconnected();
    const pidBefore = (await d.api('GET', `/1.0/instances/${vm2.name}/state`)).json.metadata.pid;
    await nova.cmd('reboot', { uuid: vm2.uuid, type: 'HARD' });
    await waitFor(vm2.uuid, { vm_state: 'active', task_state: null, power_state: 1 });
    const after = (await d.api('GET', `/1.0/instances/${vm2.name}/state`)).json.metadata;
    expect(after.status).toBe('Running');
    expect(after.pid).not.toBe(pidBefore);
  });

  it('a build in flight when the broker dies completes once the broker is back', async () => {
    vm3 = await nova.cmd('boot', { name: 'vm3', flavor: 'm1.lodge', image_ref: imageRef });
    // The conductor stops answering: the build (and the heartbeat) wait on conductor calls that
    // sit in the broker when it dies, so they are lost with it and must be sent again.
    pauseHarness();
    await conductorCallPending();
    await rabbit.kill();
    await rabbit.start();
    resumeHarness();
    await waitFor(vm3.uuid, { vm_state: 'active', task_state: null, power_state: 1 });
    expect(await status(vm3.name)).toBe('Running');
    await expectReconnected();
  });

  it('a cast that arrives while the instance is busy is not lost across a restart', async () => {
    // The reboot holds the instance; the delete arrives meanwhile and waits for its turn. Both
    // still have conductor calls ahead of them when the broker restarts.
    await nova.cmd('reboot', { uuid: vm3.uuid, type: 'SOFT' });
    const del = await nova.cmd('terminate', { uuid: vm3.uuid });
    expect(del.cast).toBe(true);
    pauseHarness();
    await conductorCallPending();
    await rabbit.stopApp();
    await rabbit.startApp();
    resumeHarness();
    const vm = await waitFor(vm3.uuid, { deleted: true });
    expect(vm).toMatchObject({ vm_state: 'deleted', task_state: null });
    expect((await d.api('GET', `/1.0/instances/${vm3.name}`)).status).toBe(404);
  });

  it('still serves afterwards: calls from nova are answered and vm2 stops', async () => {
    expect(await nova.cmd('host_uptime')).toMatch(/load average/);
    await nova.cmd('stop', { uuid: vm2.uuid });
    await waitFor(vm2.uuid, { vm_state: 'stopped', task_state: null, power_state: 4 });
    await nova.cmd('terminate', { uuid: vm2.uuid });
    await waitFor(vm2.uuid, { deleted: true });
  });
});
