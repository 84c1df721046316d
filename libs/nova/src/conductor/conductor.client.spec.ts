import { RemoteCallError } from '../errors/remote-failure';
import { NovaObject } from '../objects/nova-object';
import type { OsloRpcClient } from '../rpc/oslo-rpc.client';
import { ConductorClient } from './conductor.client';

/** A fake RPC client: object_action fails as given; Instance.get_by_uuid answers `current`. */
function fakeRpc(failure: RemoteCallError, current: Record<string, unknown>) {
  const calls: string[] = [];
  const rpc = {
    async call(_ctx: unknown, _t: unknown, method: string, args: Record<string, unknown>) {
      calls.push(`${method}:${String(args.objmethod)}`);
      if (method === 'object_action') throw failure;
      return new NovaObject('Instance', '2.7', current).toPrimitive();
    },
  } as unknown as OsloRpcClient;
  return { rpc, calls };
}

function failure(cls: string, afterResend: boolean): RemoteCallError {
  const err = new RemoteCallError({ class: cls, module: 'nova.exception', message: cls });
  err.afterResend = afterResend;
  return err;
}

function instance(): NovaObject {
  const i = new NovaObject('Instance', '2.7', { uuid: 'u-1', vm_state: 'active', task_state: 'powering-off', power_state: 1 });
  i.resetChanges();
  return i.set('vm_state', 'stopped').set('task_state', null).set('power_state', 4);
}

const ctx = {} as never;

describe('ConductorClient: the second copy of a call re-sent after a reconnect', () => {
  it('an Instance.save whose re-sent copy hit UnexpectedTaskStateError is done when nova holds what it wrote', async () => {
    const { rpc, calls } = fakeRpc(failure('UnexpectedTaskStateError', true), { uuid: 'u-1', vm_state: 'stopped', task_state: null, power_state: 4 });
    const vm = instance();
    await expect(new ConductorClient(rpc).objectAction(ctx, vm, 'save', [], { expected_task_state: ['powering-off'] })).resolves.toBeNull();
    expect(vm.changes).toEqual([]);
    expect(calls).toEqual(['object_action:save', 'object_class_action_versions:get_by_uuid']);
  });

  it('is a real conflict when nova holds something else', async () => {
    const { rpc } = fakeRpc(failure('UnexpectedTaskStateError', true), { uuid: 'u-1', vm_state: 'active', task_state: 'powering-on', power_state: 1 });
    await expect(new ConductorClient(rpc).objectAction(ctx, instance(), 'save', [], { expected_task_state: ['powering-off'] })).rejects.toMatchObject({ remoteClass: 'UnexpectedTaskStateError' });
  });

  it('a failure of a call that was sent once is never second-guessed', async () => {
    const { rpc, calls } = fakeRpc(failure('UnexpectedTaskStateError', false), { uuid: 'u-1', vm_state: 'stopped', task_state: null, power_state: 4 });
    await expect(new ConductorClient(rpc).objectAction(ctx, instance(), 'save', [], { expected_task_state: ['powering-off'] })).rejects.toBeInstanceOf(RemoteCallError);
    expect(calls).toEqual(['object_action:save']);
  });

  it('the deleting state is never taken for our own write', async () => {
    const { rpc } = fakeRpc(failure('UnexpectedDeletingTaskStateError', true), { uuid: 'u-1', vm_state: 'stopped', task_state: null, power_state: 4 });
    await expect(new ConductorClient(rpc).objectAction(ctx, instance(), 'save', [], { expected_task_state: ['powering-off'] })).rejects.toMatchObject({
      remoteClass: 'UnexpectedDeletingTaskStateError',
    });
  });

  it('an Instance.destroy whose re-sent copy found no instance is done', async () => {
    const { rpc } = fakeRpc(failure('InstanceNotFound', true), {});
    await expect(new ConductorClient(rpc).objectAction(ctx, instance(), 'destroy')).resolves.toBeNull();
    const { rpc: once } = fakeRpc(failure('InstanceNotFound', false), {});
    await expect(new ConductorClient(once).objectAction(ctx, instance(), 'destroy')).rejects.toMatchObject({ remoteClass: 'InstanceNotFound' });
  });
});
