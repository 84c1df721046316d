import { Logger } from '@nestjs/common';
import { isObject } from '../oslo/envelope';
import type { RequestContext } from '../oslo/request-context';
import { OBJECT_MANIFESTS } from '../objects/manifests';
import { isNovaPrimitive, NovaObject } from '../objects/nova-object';
import type { OsloRpcClient } from '../rpc/oslo-rpc.client';

const CONDUCTOR = { topic: 'conductor', version: '3.0' } as const;
const BASEAPI = { topic: 'conductor', namespace: 'baseapi', version: '1.0' } as const;
/** ComputeTaskAPI.build_instances as nova 26 casts it (with host_lists: 1.19). */
const COMPUTE_TASK = { topic: 'conductor', namespace: 'compute_task', version: '1.19' } as const;

/**
 * A compute host has no database: every state change goes to nova-conductor (topic `conductor`,
 * API 3.0) as `object_action` (a method of an object Lodge holds, e.g. Instance.save) or
 * `object_class_action_versions` (a classmethod, e.g. Service.get_by_host_and_binary).
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
        const reply = await this.rpc.call(ctx, BASEAPI, 'ping', { arg: '1.21 GigaWatts' }, { timeout: 10 });
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
    const reply = await this.rpc.call(ctx, CONDUCTOR, 'object_action', { objinst: obj.toPrimitive(), objmethod, args, kwargs }, { timeout: this.timeout });
    if (!Array.isArray(reply) || reply.length !== 2) throw new Error(`conductor: unexpected object_action reply for ${obj.name}.${objmethod}`);
    obj.applyUpdates(reply[0]);
    return decode(reply[1]);
  }

  /** Hands a failed build back to the conductor to try another host (nova's reschedule). */
  async rescheduleBuild(ctx: RequestContext, kwargs: Record<string, unknown>): Promise<void> {
    await this.rpc.cast(ctx, COMPUTE_TASK, 'build_instances', kwargs);
  }

  /** A remotable classmethod, e.g. `Service.get_by_host_and_binary(host, binary)`. */
  async objectClassAction(ctx: RequestContext, objname: string, objmethod: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}, resend = false): Promise<unknown> {
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
