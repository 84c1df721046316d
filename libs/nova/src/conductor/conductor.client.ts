import { Logger } from '@nestjs/common';
import { isObject } from '../oslo/envelope';
import type { RequestContext } from '../oslo/request-context';
import { OBJECT_MANIFESTS } from '../objects/manifests';
import { isNovaPrimitive, NovaObject } from '../objects/nova-object';
import type { OsloRpcClient } from '../rpc/oslo-rpc.client';
import { RemoteCallError } from '../errors/remote-failure';

/** Instance fields an Instance.save guarded by expected_task_state may set; read back to verify. */
const INSTANCE_STATE_FIELDS = ['vm_state', 'task_state', 'power_state', 'host', 'node'];

const CONDUCTOR = { topic: 'conductor', version: '3.0' } as const;
const BASEAPI = { topic: 'conductor', namespace: 'baseapi', version: '1.0' } as const;
/** ComputeTaskAPI.build_instances as nova 26 casts it (with host_lists: 1.19). */
const COMPUTE_TASK = { topic: 'conductor', namespace: 'compute_task', version: '1.19' } as const;

/**
 * A compute host has no database: every state change goes to nova-conductor (topic `conductor`,
 * API 3.0) as `object_action` (a method of an object Lodge holds, e.g. Instance.save) or
 * `object_class_action_versions` (a classmethod, e.g. Service.get_by_host_and_binary).
 *
 * After a broker restart, a conductor call that was in flight is sent again (same message id):
 * its request may have died in the broker's queue, and nova-compute would otherwise time out
 * and fail the operation. The conductor may thus run a call twice when only its reply was
 * lost. That is harmless for reads, for heartbeats and ComputeNode updates (absolute values),
 * and for an Instance.save that sets the same fields again. Two cases fail on the second copy
 * and are recognised here: an Instance.save with expected_task_state (the first copy already
 * moved task_state on: UnexpectedTaskStateError) counts as done when the instance now holds
 * the states this save wrote, and an Instance.destroy answered InstanceNotFound counts as done.
 * What stays: an InstanceActionEvent.event_start or InstanceFault.create run twice records a
 * second row; a duplicate record is preferred to an instance stuck for rpc_response_timeout
 * under its lock while a lost event_start is waited for.
 */
export class ConductorClient {
  private readonly logger = new Logger('ConductorClient');

  constructor(
    private readonly rpc: OsloRpcClient,
    private readonly timeout = 60,
  ) {}

  /**
   * nova's wait_until_ready: ping until the conductor answers (10 s per try). Gives up after
   * `attempts`, or never when it is Infinity.
   */
  async waitUntilReady(ctx: RequestContext, attempts = Infinity, shouldStop: () => boolean = () => false): Promise<void> {
    for (let i = 1; ; i++) {
      try {
        const reply = await this.rpc.call(ctx, BASEAPI, 'ping', { arg: '1.21 GigaWatts' }, { timeout: 10, resendOnReconnect: true });
        if (!isObject(reply) || reply.service !== 'conductor') throw new Error(`unexpected ping reply ${JSON.stringify(reply)}`);
        return;
      } catch (err) {
        if (i >= attempts || shouldStop()) throw err;
        this.logger.warn(`conductor not answering yet (${(err as Error).message}); trying again`);
      }
    }
  }

  /**
   * Runs `objmethod` on `obj` in the conductor and applies the fields it changed to `obj`
   * (which then has no pending changes). Returns the method's own return value.
   */
  async objectAction(ctx: RequestContext, obj: NovaObject, objmethod: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}): Promise<unknown> {
    let reply: unknown;
    try {
      reply = await this.rpc.call(ctx, CONDUCTOR, 'object_action', { objinst: obj.toPrimitive(), objmethod, args, kwargs }, { timeout: this.timeout, resendOnReconnect: true });
    } catch (err) {
      if (await this.firstCopyDidIt(ctx, obj, objmethod, kwargs, err)) {
        this.logger.warn(`${obj.name}.${objmethod} was sent twice across a reconnect; the first copy did it (${(err as Error).message})`);
        obj.resetChanges();
        return null;
      }
      throw err;
    }
    if (!Array.isArray(reply) || reply.length !== 2) throw new Error(`conductor: unexpected object_action reply for ${obj.name}.${objmethod}`);
    obj.applyUpdates(reply[0]);
    return decode(reply[1]);
  }

  /** Whether `err` is the failure of a re-sent copy of a call whose first copy took effect. */
  private async firstCopyDidIt(ctx: RequestContext, obj: NovaObject, objmethod: string, kwargs: Record<string, unknown>, err: unknown): Promise<boolean> {
    if (!(err instanceof RemoteCallError) || !err.afterResend || obj.name !== 'Instance') return false;
    if (objmethod === 'destroy') return err.remoteClass === 'InstanceNotFound';
    if (objmethod !== 'save' || kwargs.expected_task_state === undefined || err.remoteClass !== 'UnexpectedTaskStateError') return false;
    const written = INSTANCE_STATE_FIELDS.filter((f) => obj.changes.includes(f));
    if (!written.includes('task_state')) return false;
    const now = await this.objectClassAction(ctx, 'Instance', 'get_by_uuid', [obj.get('uuid')], { expected_attrs: [] }).catch(() => null);
    return now instanceof NovaObject && written.every((f) => now.get(f) === obj.get(f));
  }

  /** Hands a failed build back to the conductor to try another host (nova's reschedule). */
  async rescheduleBuild(ctx: RequestContext, kwargs: Record<string, unknown>): Promise<void> {
    await this.rpc.cast(ctx, COMPUTE_TASK, 'build_instances', kwargs);
  }

  /**
   * A remotable classmethod, e.g. `Service.get_by_host_and_binary(host, binary)`. `resend`:
   * whether it may be sent again after a reconnect (see the class comment).
   */
  async objectClassAction(ctx: RequestContext, objname: string, objmethod: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}, resend = true): Promise<unknown> {
    const objectVersions = OBJECT_MANIFESTS[objname];
    if (!objectVersions) throw new Error(`no version manifest for ${objname}`);
    const reply = await this.rpc.call(
      ctx,
      CONDUCTOR,
      'object_class_action_versions',
      { objname, objmethod, object_versions: objectVersions, args, kwargs },
      { timeout: this.timeout, resendOnReconnect: resend },
    );
    return decode(reply);
  }
}

function decode(v: unknown): unknown {
  return isNovaPrimitive(v) ? NovaObject.fromPrimitive(v) : v;
}
