import { DispatcherError, PythonAttributeError, PythonTypeError } from '../errors/remote-failure';
import { OsloMethodBinding, OsloTarget, resolveBinding } from './oslo-dispatcher';

const compute: OsloTarget = { namespace: null, version: '6.1' };
const baseapi: OsloTarget = { namespace: 'baseapi', version: '1.1' };
const bindings: OsloMethodBinding<string>[] = [
  { target: compute, method: 'stop_instance', args: { required: ['instance'], optional: ['clean_shutdown'] }, handler: 'stop' },
  { target: baseapi, method: 'ping', args: { required: ['arg'] }, handler: 'ping' },
];
const targets = [compute, baseapi];

describe('resolveBinding (oslo dispatch rules)', () => {
  it('finds the method on the endpoint of the same namespace and a compatible version', () => {
    const r = resolveBinding(targets, bindings, { method: 'stop_instance', namespace: undefined, version: '6.0', args: { instance: {}, clean_shutdown: true } });
    expect(r.binding.handler).toBe('stop');
    expect(resolveBinding(targets, bindings, { method: 'ping', namespace: 'baseapi', version: '1.0', args: { arg: 1 } }).binding.handler).toBe('ping');
  });

  it('NoSuchMethod when a compatible endpoint lacks the method', () => {
    const call = () => resolveBinding(targets, bindings, { method: 'fly', namespace: undefined, version: '6.0', args: {} });
    expect(call).toThrow(DispatcherError);
    expect(call).toThrow('Endpoint does not support RPC method fly');
  });

  it('UnsupportedVersion when no endpoint is compatible (newer minor, other major, unknown namespace)', () => {
    for (const req of [
      { method: 'stop_instance', namespace: undefined, version: '6.2' },
      { method: 'stop_instance', namespace: undefined, version: '5.0' },
      { method: 'ping', namespace: 'nope', version: '1.0' },
    ]) {
      expect(() => resolveBinding(targets, bindings, { ...req, args: {} })).toThrow(/Endpoint does not support RPC version .*Attempted method/);
    }
  });

  it('a message without a version asks for 1.0 (so compute 6.x does not serve it)', () => {
    expect(() => resolveBinding(targets, bindings, { method: 'stop_instance', namespace: undefined, version: undefined, args: { instance: {} } })).toThrow(
      'Endpoint does not support RPC version 1.0. Attempted method: stop_instance',
    );
  });

  it('arguments that do not fit the method fail as Python would', () => {
    const r = (args: unknown) => () => resolveBinding(targets, bindings, { method: 'stop_instance', namespace: undefined, version: '6.0', args });
    expect(r({})).toThrow(new PythonTypeError("stop_instance() missing 1 required positional argument: 'instance'"));
    expect(r({ instance: {}, colour: 'red' })).toThrow("stop_instance() got an unexpected keyword argument 'colour'");
    expect(r([1])).toThrow(new PythonAttributeError("'list' object has no attribute 'items'"));
    expect(r(null)).toThrow(new PythonAttributeError("'NoneType' object has no attribute 'items'"));
    expect(() => resolveBinding(targets, bindings, { method: 42, namespace: undefined, version: '6.0', args: {} })).toThrow(
      new PythonTypeError("attribute name must be string, not 'int'"),
    );
  });

  it('malformed method and version fields fail in the order oslo checks them', () => {
    const req = (method: unknown, version: unknown, namespace: unknown = undefined) => () => resolveBinding(targets, bindings, { method, namespace, version, args: {} });
    // no method: Python's hasattr() on a compatible endpoint
    expect(req(undefined, '6.0')).toThrow(new PythonTypeError("attribute name must be string, not 'NoneType'"));
    // ...but with no compatible endpoint the method is never looked up
    expect(req(undefined, '7.0')).toThrow(new DispatcherError('UnsupportedVersion', 'Endpoint does not support RPC version 7.0'));
    // a JSON null version is compatible with nothing
    expect(req('stop_instance', null)).toThrow('Endpoint does not support RPC version None. Attempted method: stop_instance');
    // a version that is not a string breaks version.split() of an endpoint of that namespace only
    expect(req('stop_instance', 6)).toThrow(new PythonAttributeError("'int' object has no attribute 'split'"));
    expect(req('stop_instance', 6, 'nope')).toThrow(DispatcherError);
  });
});
