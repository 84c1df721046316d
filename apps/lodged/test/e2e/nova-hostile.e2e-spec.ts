/**
 * Malformed and hostile messages to Lodge's nova-compute RPC server. The test publishes raw
 * bodies with amqplib, as a broken or hostile peer on the bus would, and checks what a nova
 * operator would see: the failure oslo's dispatcher would reply with (the class nova's client
 * re-raises), a logged drop where oslo drops the message, the daemon still serving, no Lodge
 * instance, cgroup or config drive left behind, and nova's database where nova records something.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger, LoggerService } from '@nestjs/common';
import * as amqp from 'amqplib';
import { leftoverCgroups } from '../../../../test/runtime/harness';
import { EngineDaemon, importBusybox, startEngineDaemon } from '../engine-daemon';
import { eventually, NovaSide, startNovaSide } from '../nova-harness';

jest.setTimeout(180_000);

interface Reply {
  result: unknown;
  failure: { class: string; module: string; message: string; args: unknown[]; kwargs: Record<string, unknown> } | null;
  ending: boolean;
}

/** The daemon's log lines (it runs in this process), as an operator would read them. */
class CapturedLog implements LoggerService {
  readonly lines: string[] = [];
  private add(level: string, message: unknown, params: unknown[]): void {
    this.lines.push(`${level} [${String(params[params.length - 1] ?? '')}] ${String(message)}`);
  }
  log(m: unknown, ...p: unknown[]) {
    this.add('LOG', m, p);
  }
  warn(m: unknown, ...p: unknown[]) {
    this.add('WARN', m, p);
  }
  error(m: unknown, ...p: unknown[]) {
    this.add('ERROR', m, p);
  }
  debug() {}
  verbose() {}
  /** Lines logged since `mark` (an index from `lines.length`). */
  since(mark: number): string {
    return this.lines.slice(mark).join('\n');
  }
}

describe('hostile and malformed messages to nova-compute', () => {
  let nova: NovaSide;
  let d: EngineDaemon;
  let conn: amqp.ChannelModel | undefined;
  let ch: amqp.Channel;
  const log = new CapturedLog();
  const imageRef = randomUUID();
  const replyQueue = `reply_${randomBytes(16).toString('hex')}`;
  const replies = new Map<string, Reply>();
  const waiters = new Map<string, (r: Reply) => void>();

  beforeAll(async () => {
    nova = await startNovaSide('hostile');
    try {
      d = await startEngineDaemon('hostile', {
        nova: { amqpUrl: nova.transportUrl, host: nova.computeHost, rpcTimeout: 10, timers: { reportInterval: 1, resourceInterval: 2, powerSyncInterval: 1 } },
      });
      Logger.overrideLogger(log);
      await importBusybox(d, imageRef);
      await nova.cmd('create_flavor', { name: 'm1.hostile', vcpus: 1, memory_mb: 256, root_gb: 1 });
      conn = await amqp.connect(nova.transportUrl.replace(/^rabbit:/, 'amqp:'));
      ch = await conn.createChannel();
      // a reply queue as oslo's client declares one
      await ch.assertQueue(replyQueue, { durable: false, autoDelete: false, arguments: { 'x-expires': 1800000 } });
      await ch.consume(
        replyQueue,
        (msg) => {
          if (!msg) return;
          const inner = JSON.parse(JSON.parse(msg.content.toString())['oslo.message']);
          if (!inner.ending) return; // a call-monitor heartbeat
          const reply: Reply = { result: inner.result, failure: inner.failure ? JSON.parse(inner.failure) : null, ending: inner.ending };
          replies.set(inner._msg_id, reply);
          waiters.get(inner._msg_id)?.(reply);
        },
        { noAck: true },
      );
      // the host is up: the conductor knows it
      await eventually(async () => ((await nova.cmd('service')).service ? true : undefined), 30_000);
    } catch (err) {
      await conn?.close().catch(() => undefined);
      await d?.cleanup();
      await nova.close();
      throw err;
    }
  });

  afterAll(async () => {
    Logger.overrideLogger(false);
    await ch?.deleteQueue(replyQueue).catch(() => undefined);
    await conn?.close().catch(() => undefined);
    await d?.cleanup();
    await nova?.close();
  });

  const computeQueue = () => `compute.${nova.computeHost}`;

  /** The context keys oslo flattens into a message (an admin context, as nova-api sends). */
  const context = (requestId = `req-${randomUUID()}`) => ({
    _context_request_id: requestId,
    _context_global_request_id: null,
    _context_is_admin: true,
    _context_project_id: null,
    _context_user_id: null,
    _context_read_deleted: 'no',
    _context_roles: ['admin'],
    _context_timestamp: new Date().toISOString().replace('Z', ''),
  });

  /** oslo's 2.0 envelope around an inner message. */
  const envelope = (inner: unknown) => JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': JSON.stringify(inner) });

  const publish = (body: string | Buffer, routingKey = computeQueue()) => {
    ch.publish('nova', routingKey, Buffer.isBuffer(body) ? body : Buffer.from(body), { contentType: 'application/json', contentEncoding: 'utf-8' });
  };

  const waitReply = (msgId: string) =>
    new Promise<Reply>((resolve, reject) => {
      const got = replies.get(msgId);
      if (got) return resolve(got);
      const t = setTimeout(() => reject(new Error(`no reply to ${msgId} within 60 s:\n${log.since(0).slice(-3000)}`)), 60_000);
      waiters.set(msgId, (r) => {
        clearTimeout(t);
        resolve(r);
      });
    });

  /** An inner call message as oslo's client builds it; `extra` overrides or adds keys. */
  const callMessage = (method: unknown, args: unknown, extra: Record<string, unknown> = {}) => {
    const msgId = randomBytes(16).toString('hex');
    return {
      msgId,
      message: { method, args, version: '6.0', ...context(), _msg_id: msgId, _reply_q: replyQueue, _unique_id: randomBytes(16).toString('hex'), _timeout: 60, ...extra },
    };
  };

  /** Publishes a call and waits for its final reply. */
  const rawCall = async (method: unknown, args: unknown, extra: Record<string, unknown> = {}, routingKey?: string) => {
    const { msgId, message } = callMessage(method, args, extra);
    publish(envelope(message), routingKey);
    return waitReply(msgId);
  };

  /**
   * The daemon read everything published before this and still serves: a call sent after those
   * messages on the same queue is answered. The server reads a queue in order and decides to drop
   * a message before it answers anything published after it.
   */
  const stillServes = async (routingKey?: string) => {
    const r = await rawCall('get_host_uptime', {}, {}, routingKey);
    expect(r.failure).toBeNull();
    expect(r.result).toMatch(/load average/);
  };

  const ghost = (data: Record<string, unknown> = {}) => ({
    'nova_object.name': 'Instance',
    'nova_object.namespace': 'nova',
    'nova_object.version': '2.7',
    'nova_object.data': { uuid: randomUUID(), id: 987654, vm_state: 'active', task_state: null, power_state: 1, ...data },
  });

  describe('bodies oslo cannot read are dropped with a log, never answered', () => {
    it.each([
      ['not JSON', 'this is not json {', /unreadable message.*not JSON/],
      ['JSON that is not an object', '[1, 2, 3]', /unreadable message.*not a JSON object/],
      ['a JSON string', '"get_host_uptime"', /unreadable message.*not a JSON object/],
      ['an envelope of another major version', JSON.stringify({ 'oslo.version': '3.0', 'oslo.message': '{}' }), /unsupported oslo envelope version "3.0"/],
      ['an envelope of a newer minor version', JSON.stringify({ 'oslo.version': '2.1', 'oslo.message': '{}' }), /unsupported oslo envelope version "2.1"/],
      ['an envelope version that is not a string', JSON.stringify({ 'oslo.version': 2, 'oslo.message': '{}' }), /unsupported oslo envelope version 2/],
      ['oslo.message that is not a string', JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': { method: 'get_host_uptime' } }), /oslo.message is not a string/],
      ['oslo.message that is not JSON', JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': '{"method": ' }), /oslo.message is not JSON/],
      ['oslo.message that is not an object', JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': '["get_host_uptime"]' }), /oslo.message is not a JSON object/],
    ])('%s', async (_what, body, logged) => {
      const mark = log.lines.length;
      publish(body);
      await stillServes();
      expect(log.since(mark)).toMatch(logged);
    });

    it('a call without a _reply_q is dropped (nobody to answer)', async () => {
      const mark = log.lines.length;
      const { msgId, message } = callMessage('get_host_uptime', {}, { _reply_q: undefined });
      publish(envelope(message));
      await stillServes();
      expect(log.since(mark)).toMatch(/dropped a call without a usable _msg_id\/_reply_q/);
      expect(replies.has(msgId)).toBe(false);
    });

    it('a body over the size limit is dropped unread; the daemon stays up', async () => {
      const mark = log.lines.length;
      const { msgId, message } = callMessage('get_host_uptime', { padding: 'x'.repeat(17 * 1024 * 1024) });
      publish(envelope(message));
      await stillServes();
      expect(log.since(mark)).toMatch(/dropped a \d+-byte message on compute\..*over the 16777216-byte limit/);
      expect(replies.has(msgId)).toBe(false);
    });
  });

  describe("calls oslo's dispatcher refuses get the failure nova's client re-raises", () => {
    it('a message without a method: TypeError, as hasattr() raises in Python', async () => {
      const r = await rawCall(undefined, {});
      expect(r.failure).toMatchObject({ class: 'TypeError', module: 'builtins', message: "attribute name must be string, not 'NoneType'" });
    });

    it('an unknown method: NoSuchMethod, on the host queue and on the shared compute queue', async () => {
      for (const key of [computeQueue(), 'compute']) {
        const r = await rawCall('format_all_disks', {}, {}, key);
        expect(r.failure).toMatchObject({ class: 'NoSuchMethod', module: 'oslo_messaging.rpc.dispatcher', message: 'Endpoint does not support RPC method format_all_disks' });
      }
      await stillServes('compute');
    });

    it('a method name of a private attribute is just an unknown method', async () => {
      const r = await rawCall('__init__', {});
      expect(r.failure).toMatchObject({ class: 'NoSuchMethod' });
    });

    it.each([
      ['a newer major', '7.0', 'Endpoint does not support RPC version 7.0. Attempted method: get_host_uptime'],
      ['a newer minor', '6.9', 'Endpoint does not support RPC version 6.9. Attempted method: get_host_uptime'],
      ['JSON null', null, 'Endpoint does not support RPC version None. Attempted method: get_host_uptime'],
    ])('a wrong version (%s): UnsupportedVersion', async (_what, version, message) => {
      const r = await rawCall('get_host_uptime', {}, { version });
      expect(r.failure).toMatchObject({ class: 'UnsupportedVersion', module: 'oslo_messaging.rpc.dispatcher', message });
    });

    it('a version that is not dotted numbers fails as int() and str.split() fail in oslo', async () => {
      expect((await rawCall('get_host_uptime', {}, { version: '6.x' })).failure).toMatchObject({ class: 'ValueError', module: 'builtins' });
      expect((await rawCall('get_host_uptime', {}, { version: 6 })).failure).toMatchObject({
        class: 'AttributeError',
        module: 'builtins',
        message: "'int' object has no attribute 'split'",
      });
    });

    it('an unknown namespace: UnsupportedVersion (no endpoint serves it)', async () => {
      const r = await rawCall('ping', { arg: 1 }, { namespace: 'nova.secret', version: '1.0' });
      expect(r.failure).toMatchObject({ class: 'UnsupportedVersion', message: 'Endpoint does not support RPC version 1.0. Attempted method: ping' });
      // the same method in the namespace that has it works
      expect((await rawCall('ping', { arg: 1 }, { namespace: 'baseapi', version: '1.0' })).result).toEqual({ service: 'compute', arg: 1 });
    });

    it('arguments that do not fit: the TypeError or AttributeError Python raises', async () => {
      expect((await rawCall('stop_instance', {})).failure).toMatchObject({
        class: 'TypeError',
        module: 'builtins',
        message: "stop_instance() missing 1 required positional argument: 'instance'",
      });
      expect((await rawCall('get_console_output', {})).failure).toMatchObject({
        message: "get_console_output() missing 2 required positional arguments: 'instance' and 'tail_length'",
      });
      expect((await rawCall('get_host_uptime', { rm: '-rf' })).failure).toMatchObject({ class: 'TypeError', message: "get_host_uptime() got an unexpected keyword argument 'rm'" });
      expect((await rawCall('get_host_uptime', ['a'])).failure).toMatchObject({ class: 'AttributeError', message: "'list' object has no attribute 'items'" });
    });

    it('a duplicate _unique_id is dropped: only the first of two copies is answered', async () => {
      const first = callMessage('get_host_uptime', {});
      const copy = callMessage('get_host_uptime', {}, { _unique_id: first.message._unique_id });
      const mark = log.lines.length;
      publish(envelope(first.message));
      publish(envelope(copy.message));
      expect((await waitReply(first.msgId)).result).toMatch(/load average/);
      await stillServes();
      expect(replies.has(copy.msgId)).toBe(false);
      expect(log.since(mark)).toMatch(new RegExp(`dropped a duplicate message ${first.message._unique_id}`));
    });
  });

  describe('an instance that does not exist on this host', () => {
    it.each([
      ['get_console_output', { tail_length: 10 }],
      ['get_instance_diagnostics', {}],
      ['stop_instance', { clean_shutdown: true }],
      ['start_instance', {}],
    ])('%s: InstanceNotFound from nova.exception, as nova re-raises it', async (method, args) => {
      const instance = ghost();
      const uuid = instance['nova_object.data'].uuid;
      const r = await rawCall(method, { instance, ...args });
      expect(r.failure).toMatchObject({
        class: 'InstanceNotFound',
        module: 'nova.exception',
        message: `Instance ${uuid} could not be found.`,
        kwargs: { instance_id: uuid, code: 404 },
      });
    });

    it('the same through nova\'s own client: nova re-raises InstanceNotFound', async () => {
      await expect(nova.cmd('call', { method: 'get_console_output', version: '6.0', args: { instance: ghost(), tail_length: null } })).rejects.toMatchObject({
        errorClass: 'InstanceNotFound',
        module: 'nova.exception',
      });
    });

    it('an instance that is not an Instance object: InvalidInput, nothing touched', async () => {
      for (const instance of ['instance-00000001', { 'nova_object.name': 'Flavor', 'nova_object.data': { uuid: randomUUID() } }, ghost({ uuid: 42 })]) {
        const r = await rawCall('stop_instance', { instance });
        expect(r.failure).toMatchObject({ class: 'InvalidInput', module: 'nova.exception', kwargs: { code: 400 } });
      }
    });
  });

  describe('malformed build_and_run_instance casts make nothing', () => {
    const buildCast = (instance: unknown, requestId?: string, routingKey?: string) => {
      const message = {
        method: 'build_and_run_instance',
        version: '6.0',
        args: {
          instance,
          image: { id: imageRef, name: 'busybox', properties: {} },
          request_spec: null,
          filter_properties: { limits: {} },
          admin_password: null,
          injected_files: [],
          requested_networks: null,
          security_groups: ['default'],
          block_device_mapping: null,
          node: nova.computeHost,
          limits: {},
          host_list: null,
          accel_uuids: [],
        },
        ...context(requestId),
        _unique_id: randomBytes(16).toString('hex'),
      };
      publish(envelope(message), routingKey);
    };

    /** What a hostile build must not leave: a Lodge instance, a config drive, a cgroup. */
    const expectNothingMade = async () => {
      const list = await d.api('GET', '/1.0/instances');
      expect(list.status).toBe(200);
      expect(list.json.metadata).toEqual([]);
      const drives = join(d.dir, 'nova', 'config-drives');
      expect(existsSync(drives) ? readdirSync(drives) : []).toEqual([]);
      expect(leftoverCgroups(d.parent)).toEqual([]);
    };

    it.each([
      ['no uuid', { 'nova_object.name': 'Instance', 'nova_object.namespace': 'nova', 'nova_object.version': '2.7', 'nova_object.data': { id: 5, image_ref: imageRef } }],
      ['another object', { ...ghost(), 'nova_object.name': 'Flavor' }],
      ['another namespace', { ...ghost(), 'nova_object.namespace': 'evil' }],
      ['data that is not an object', { ...ghost(), 'nova_object.data': 'uuid=1' }],
      ['not an object at all', 'instance-00000001'],
    ])('an instance with %s: refused (logged), nothing made', async (_what, instance) => {
      const mark = log.lines.length;
      buildCast(instance);
      await stillServes();
      expect(log.since(mark)).toMatch(/cast build_and_run_instance failed: nova\.exception\.InvalidInput/);
      await expectNothingMade();
    });

    it('an instance nova does not have: the build is abandoned, nothing made', async () => {
      const mark = log.lines.length;
      buildCast(ghost({ vm_state: 'building', task_state: 'scheduling', image_ref: imageRef, name: 'instance-ghost' }));
      await eventually(async () => (/build of .* abandoned/.test(log.since(mark)) ? true : undefined), 30_000);
      await expectNothingMade();
    });

    describe('an instance nova has, with hostile fields', () => {
      let victim: { uuid: string; id: number; request_id: string };
      const flavor = (data: Record<string, unknown> = {}) => ({
        'nova_object.name': 'Flavor',
        'nova_object.namespace': 'nova',
        'nova_object.version': '1.2',
        'nova_object.data': { id: 1, name: 'm1.hostile', flavorid: 'hostile', vcpus: 1, memory_mb: 256, root_gb: 1, ephemeral_gb: 0, swap: 0, extra_specs: {}, ...data },
      });
      const victimInstance = (data: Record<string, unknown>) => ({
        'nova_object.name': 'Instance',
        'nova_object.namespace': 'nova',
        'nova_object.version': '2.7',
        'nova_object.data': { uuid: victim.uuid, id: victim.id, vm_state: 'error', task_state: null, power_state: 0, image_ref: imageRef, flavor: flavor(), ...data },
      });

      beforeAll(async () => {
        // A real row in nova's database (it failed to build: vm error, no task), so a re-sent
        // build passes the first save and gets to the driver's part.
        const boot = await nova.cmd('boot', { name: 'victim', flavor: 'm1.hostile', image_ref: randomUUID() });
        await nova.cmd('wait', { uuid: boot.uuid, vm_state: 'error', task_state: null, timeout: 30 }, 40_000);
        victim = boot;
      });

      /** Sends the build and waits until nova recorded its failure; returns the new fault. */
      const buildFails = async (data: Record<string, unknown>) => {
        const before = (await nova.cmd('get', { uuid: victim.uuid })).faults.length;
        const mark = log.lines.length;
        buildCast(victimInstance(data), victim.request_id);
        const vm = await eventually(async () => {
          const v = await nova.cmd('get', { uuid: victim.uuid });
          return v.faults.length > before && v.vm_state === 'error' && v.task_state === null ? v : undefined;
        }, 30_000).catch((err: Error) => {
          throw new Error(`${err.message}\n${log.since(mark)}\n${nova.log().slice(-3000)}`);
        });
        expect(vm).toMatchObject({ vm_state: 'error', task_state: null, host: null, node: null });
        return vm.faults[vm.faults.length - 1];
      };

      it.each([
        ['a path as its name', { name: '../../victim' }],
        ['a very long name', { name: 'x'.repeat(300) }],
        ['a name with a slash and a newline', { name: 'ok/../../etc\npasswd' }],
      ])('%s: vm error with a fault, and no file outside Lodge touched', async (_what, data) => {
        // a file where a "../../victim" config drive would land
        const canary = join(d.dir, 'victim');
        mkdirSync(canary, { recursive: true });
        writeFileSync(join(canary, 'keep'), 'mine');
        const fault = await buildFails(data);
        expect(fault.host).toBe(nova.computeHost);
        expect(fault.message).toMatch(/Instance\.(name|id)/);
        expect(fault.code).toBe(400);
        expect(existsSync(join(canary, 'keep'))).toBe(true);
        await expectNothingMade();
      });

      // Fields nova keeps in its database (id, image_ref, ...) come back from the first save
      // with nova's values; a flavor stays as sent. One nova cannot read is refused by nova's
      // conductor at that first save, as nova-compute's own deserializer would refuse it: the
      // build stops before any work and nova's record is left as it was.
      it.each([
        ['no flavor', { flavor: null }, /Field `flavor' cannot be None/],
        ['a flavor that is a string', { flavor: 'm1.huge' }, /TypeError: string indices must be integers/],
        ['a flavor with garbage sizes', { flavor: flavor({ vcpus: 'all', memory_mb: -1 }) }, /invalid literal for int\(\)/],
        ['extra specs that are a list', { flavor: flavor({ extra_specs: ['lxd:privileged_allowed'] }) }, /AttributeError: 'list' object has no attribute 'items'/],
      ])('%s: refused at the first save, nova unchanged, nothing made', async (_what, data, why) => {
        const before = await nova.cmd('get', { uuid: victim.uuid });
        const mark = log.lines.length;
        buildCast(victimInstance(data), victim.request_id);
        const failed = await eventually(async () => log.lines.slice(mark).find((l) => l.includes('cast build_and_run_instance failed')), 30_000);
        expect(failed).toMatch(why);
        const after = await nova.cmd('get', { uuid: victim.uuid });
        expect(after).toMatchObject({ vm_state: 'error', task_state: null, host: null });
        expect(after.faults).toEqual(before.faults);
        await expectNothingMade();
      });

      it('an action on it (this host has no container for it): InstanceNotFound, and nova gets no new fault', async () => {
        const before = await nova.cmd('get', { uuid: victim.uuid });
        const r = await rawCall('stop_instance', { instance: victimInstance({}), clean_shutdown: true });
        expect(r.failure).toMatchObject({ class: 'InstanceNotFound', module: 'nova.exception', kwargs: { instance_id: victim.uuid } });
        const after = await nova.cmd('get', { uuid: victim.uuid });
        expect(after.faults).toEqual(before.faults);
        expect(after).toMatchObject({ vm_state: 'error', task_state: null });
      });

      it('a flavor nova can read but no container can have (0 vcpus): InvalidInput fault, nothing made', async () => {
        const fault = await buildFails({ flavor: flavor({ vcpus: 0 }) });
        expect(fault).toMatchObject({ code: 400, host: nova.computeHost });
        expect(fault.message).toMatch(/^Invalid input received: flavor vcpus must be at least 1/);
        await expectNothingMade();
      });
    });
  });

  describe('after all of it', () => {
    it('the daemon is alive and a normal build through nova still reaches active', async () => {
      expect((await d.api('GET', '/1.0')).status).toBe(200);
      await stillServes();
      await stillServes('compute');
      const boot = await nova.cmd('boot', { name: 'normal', flavor: 'm1.hostile', image_ref: imageRef });
      const vm = await nova.cmd('wait', { uuid: boot.uuid, vm_state: 'active', task_state: null, power_state: 1, timeout: 60 }, 70_000);
      expect(vm.host).toBe(nova.computeHost);
      expect((await d.api('GET', `/1.0/instances/${boot.name}`)).json.metadata.status).toBe('Running');
      await nova.cmd('terminate', { uuid: boot.uuid });
      await nova.cmd('wait', { uuid: boot.uuid, deleted: true, timeout: 60 }, 70_000);
      expect((await d.api('GET', `/1.0/instances/${boot.name}`)).status).toBe(404);
      expect(log.lines.filter((l) => l.startsWith('ERROR') && /message processing failed/.test(l))).toEqual([]);
    });
  });
});
