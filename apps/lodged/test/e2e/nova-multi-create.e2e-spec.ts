/**
 * One nova request for several instances (`openstack server create --min-count N`), served the way
 * production runs nova's conductor: several worker processes on one topic ([conductor] workers),
 * so the saves of one build land on different processes. nova's conductor creates every
 * instance before it casts the first build; Lodge builds them all at once.
 */
import { randomUUID } from 'node:crypto';
import { EngineDaemon, importBusybox, startEngineDaemon } from '../engine-daemon';
import { NovaSide, startNovaSide } from '../nova-harness';

jest.setTimeout(180_000);

const COUNT = 4;

describe('a multi-instance nova request, conductor with two worker processes', () => {
  let nova: NovaSide;
  let d: EngineDaemon;
  const imageRef = randomUUID();

  beforeAll(async () => {
    nova = await startNovaSide('multi', { conductorWorkers: 2 });
    try {
      d = await startEngineDaemon('nova-multi', { nova: { amqpUrl: nova.transportUrl, host: nova.computeHost, rpcTimeout: 10 } });
      await importBusybox(d, imageRef);
      await nova.cmd('create_flavor', { name: 'm1.multi', vcpus: 1, memory_mb: 128, root_gb: 1 });
    } catch (err) {
      await nova.close();
      throw err;
    }
  });

  afterAll(async () => {
    await d?.cleanup();
    await nova?.close();
  });

  it('serves the conductor from two processes besides the API stand-in', () => {
    expect(new Set(nova.conductorPids).size).toBe(2);
    expect(nova.conductorPids).not.toContain(nova.pid);
  });

  it('builds every instance of the request: active, running, one container each, then terminates them', async () => {
    const boots = await nova.cmd<Array<{ uuid: string; name: string }>>('boot_many', { count: COUNT, name: 'multi', flavor: 'm1.multi', image_ref: imageRef }, 120_000);
    expect(boots).toHaveLength(COUNT);
    const uuids = boots.map((b) => b.uuid);
    const built = await nova.cmd<{ ms: Record<string, number>; span_ms: number }>('wait_built', { uuids, timeout: 60 }, 70_000);
    expect(Object.keys(built.ms).sort()).toEqual([...uuids].sort());
    expect(built.span_ms).toBeGreaterThanOrEqual(Math.max(...Object.values(built.ms)));

    for (const { uuid, name } of boots) {
      const vm = await nova.cmd('wait', { uuid, vm_state: 'active', task_state: null, power_state: 1, timeout: 30 }, 40_000);
      expect(vm).toMatchObject({ host: nova.computeHost, node: nova.computeHost });
      const events = vm.events.filter((e: any) => e.event === 'compute__do_build_and_run_instance');
      expect(events).toHaveLength(1);
      const res = await d.api('GET', `/1.0/instances/${name}`);
      expect(res.status).toBe(200);
      expect(res.json.metadata.status).toBe('Running');
      expect(res.json.metadata.config['user.nova.uuid']).toBe(uuid);
    }

    for (const uuid of uuids) await nova.cmd('terminate', { uuid });
    for (const { uuid, name } of boots) {
      await nova.cmd('wait', { uuid, deleted: true, timeout: 30 }, 40_000);
      expect((await d.api('GET', `/1.0/instances/${name}`)).status).toBe(404);
    }
  });
});
