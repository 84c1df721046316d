/**
 * nova builds from Glance: an image that is not on the host is downloaded from a Glance v2
 * endpoint (a local HTTP server here), checked, imported once and cached under its Glance id,
 * driven by nova's own ComputeAPI and conductor (test/nova/harness) as in nova-compute.e2e-spec.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUSYBOX_UNIFIED, EngineDaemon, IMAGES, startEngineDaemon } from '../engine-daemon';
import { GlanceTestServer, startGlanceServer } from '../glance-server';
import { NovaSide, startNovaSide } from '../nova-harness';

jest.setTimeout(180_000);

/** the keystone token the harness's user context carries (nova-compute passes it to Glance) */
const USER_TOKEN = 'harness-token-not-a-real-keystone-token';

describe('nova builds from Glance v2 images', () => {
  let nova: NovaSide;
  let glance: GlanceTestServer;
  let d: EngineDaemon;
  let work: string;
  let rootfsTarball: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'lodge-glance-'));
    // a bare root filesystem, as a Glance "root-tar" image is: no metadata.yaml
    rootfsTarball = join(work, 'busybox-rootfs.tar.gz');
    execFileSync('tar', ['-C', join(IMAGES, 'busybox', 'rootfs'), '-czf', rootfsTarball, '.']);
    glance = await startGlanceServer();
    nova = await startNovaSide('glance');
    try {
      d = await startEngineDaemon('nova-glance', {
        nova: {
          amqpUrl: nova.transportUrl,
          host: nova.computeHost,
          rpcTimeout: 10,
          timers: { reportInterval: 1, resourceInterval: 2, powerSyncInterval: 5 },
          glance: { url: `${glance.url}/v2`, retries: 3, retryDelayMs: 100 },
        },
      });
      await nova.cmd('create_flavor', { name: 'm1.glance', vcpus: 1, memory_mb: 128, root_gb: 1 });
    } catch (err) {
      await nova.close();
      throw err;
    }
  });

  afterAll(async () => {
    await d?.cleanup();
    await nova?.close();
    await glance?.close();
    rmSync(work, { recursive: true, force: true });
  });

  const boot = async (name: string, imageRef: string) => (await nova.cmd('boot', { name, flavor: 'm1.glance', image_ref: imageRef })).uuid as string;
  const waitFor = (uuid: string, state: Record<string, unknown>) => nova.cmd('wait', { uuid, ...state, timeout: 60 }, 70_000);
  const lodgeImages = async () => (await d.api('GET', '/1.0/images?recursion=1')).json.metadata as any[];
  const downloadsLeft = () => {
    const dir = join(d.dir, 'nova', 'glance-downloads');
    return existsSync(dir) ? readdirSync(dir) : [];
  };

  it('downloads a unified image once, imports it under its Glance id and builds from it', async () => {
    const id = randomUUID();
    glance.add({ id, name: 'busybox-unified', file: BUSYBOX_UNIFIED, disk_format: 'raw' });
    const first = await boot('g1', id);
    const vm = await waitFor(first, { vm_state: 'active', task_state: null, power_state: 1 });

    const image = (await lodgeImages()).find((i) => i.aliases.some((a: any) => a.name === id));
    expect(image).toBeDefined();
    expect(image.properties['glance.id']).toBe(id);
    expect(image.filename).toBe('busybox-unified');
    // the record and the data were fetched with the user's token
    const mine = glance.requests.filter((r) => r.path.includes(id));
    expect(mine.map((r) => r.path)).toEqual([`/v2/images/${id}`, `/v2/images/${id}/file`]);
    expect(mine.every((r) => r.token === USER_TOKEN)).toBe(true);
    expect((await d.api('GET', `/1.0/instances/${vm.name}/state`)).json.metadata.status).toBe('Running');
    // the rest of the flow is the same as for a pre-seeded image
    await nova.cmd('stop', { uuid: first });
    await waitFor(first, { vm_state: 'stopped', task_state: null, power_state: 4 });
    await nova.cmd('start', { uuid: first });
    await waitFor(first, { vm_state: 'active', task_state: null, power_state: 1 });

    // a second build of the same image uses the cached import: no second download
    const second = await boot('g2', id);
    await waitFor(second, { vm_state: 'active', task_state: null, power_state: 1 });
    expect(glance.downloads(id)).toBe(1);
    expect((await lodgeImages()).filter((i) => i.properties['glance.id'] === id)).toHaveLength(1);
    expect(downloadsLeft()).toEqual([]);

    for (const uuid of [first, second]) await nova.cmd('terminate', { uuid });
    for (const uuid of [first, second]) await waitFor(uuid, { deleted: true });
  });

  it('imports a bare root filesystem with generated metadata; builds that arrive together share one download', async () => {
    const id = randomUUID();
    glance.add({
      id,
      name: 'busybox-rootfs',
      file: rootfsTarball,
      disk_format: 'root-tar',
      properties: { hw_architecture: 'x86_64', os_distro: 'busybox', os_version: '1.35' },
    });
    const uuids = await Promise.all(['r1', 'r2', 'r3'].map((n) => nova.cmd('boot', { name: n, flavor: 'm1.glance', image_ref: id, parallel: true }).then((b) => b.uuid as string)));
    for (const uuid of uuids) await waitFor(uuid, { vm_state: 'active', task_state: null, power_state: 1 });
    expect(glance.downloads(id)).toBe(1);

    const image = (await lodgeImages()).find((i) => i.aliases.some((a: any) => a.name === id));
    expect(image).toMatchObject({ architecture: 'x86_64', properties: expect.objectContaining({ os: 'busybox', release: '1.35', description: 'busybox-rootfs' }) });
    // the generated metadata is the image's own: the container runs the Glance rootfs
    const name = (await nova.cmd('get', { uuid: uuids[0] })).name;
    expect((await d.api('GET', `/1.0/instances/${name}/state`)).json.metadata.status).toBe('Running');

    for (const uuid of uuids) await nova.cmd('terminate', { uuid });
    for (const uuid of uuids) await waitFor(uuid, { deleted: true });
  });

  it('rides out a Glance that answers 503 a few times', async () => {
    const id = randomUUID();
    glance.add({ id, name: 'flaky', file: BUSYBOX_UNIFIED, disk_format: 'raw', unavailableTimes: 2 });
    // the bytes are those of the first test's image: the import is an alias to the same image
    const uuid = await boot('flaky', id);
    await waitFor(uuid, { vm_state: 'active', task_state: null, power_state: 1 });
    expect(glance.requests.filter((r) => r.path === `/v2/images/${id}`).length).toBe(3);
    await nova.cmd('terminate', { uuid });
    await waitFor(uuid, { deleted: true });
  });

  describe('images that cannot be used end in vm error with nova\'s fault, and leave nothing', () => {
    const failsWith = async (name: string, imageRef: string, fault: { code: number; message: RegExp }) => {
      const before = (await lodgeImages()).length;
      const uuid = await boot(name, imageRef);
      const vm = await waitFor(uuid, { vm_state: 'error', task_state: null });
      expect(vm.host).toBeNull();
      expect(vm.faults.at(-1)).toMatchObject({ code: fault.code, message: expect.stringMatching(fault.message) });
      expect((await d.api('GET', `/1.0/instances/${vm.name}`)).status).toBe(404);
      expect((await lodgeImages()).length).toBe(before);
      expect(downloadsLeft()).toEqual([]);
      return vm;
    };

    it('an image Glance does not have: ImageNotFound', async () => {
      const id = randomUUID();
      await failsWith('missing', id, { code: 404, message: new RegExp(`Image ${id} could not be found`) });
    });

    it('a disk format a container cannot use: ImageUnacceptable, never downloaded', async () => {
      const id = randomUUID();
      glance.add({ id, name: 'a-vm-disk', file: BUSYBOX_UNIFIED, disk_format: 'qcow2' });
      await failsWith('qcow', id, { code: 400, message: /is unacceptable: disk_format qcow2/ });
      expect(glance.downloads(id)).toBe(0);
    });

    it('an image that is not active yet: ImageUnacceptable', async () => {
      const id = randomUUID();
      glance.add({ id, name: 'queued', disk_format: 'raw', status: 'queued' });
      await failsWith('queued', id, { code: 400, message: /status is queued/ });
    });

    it('data that does not match its hash: the build fails and nothing is imported', async () => {
      const id = randomUUID();
      glance.add({ id, name: 'corrupt', file: rootfsTarball, disk_format: 'root-tar', wrongHash: true });
      const vm = await failsWith('corrupt', id, { code: 500, message: /aborted: Corrupt image download/ });
      expect(vm.faults.at(-1).message).toMatch(/: sha512 was [0-9a-f]+/);
      expect(glance.downloads(id)).toBe(1);
    });

    it('data that is not an image at all: ImageUnacceptable', async () => {
      const id = randomUUID();
      const junk = join(work, 'junk.img');
      writeFileSync(junk, randomBytes(4096));
      glance.add({ id, name: 'junk', file: junk, disk_format: 'raw' });
      await failsWith('junk', id, { code: 400, message: /is unacceptable: unsupported image file/ });
    });
  });
});
