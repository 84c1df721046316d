import { InvalidArgumentError, NotFoundError } from '@lodge/common';
import { NovaException } from './nova-exceptions';
import { noSuchMethod, PythonTypeError, toRemoteFailure } from './remote-failure';

describe('toRemoteFailure (the one place errors become oslo failures)', () => {
  it('keeps a nova exception class, its message and kwargs with the code', () => {
    const f = toRemoteFailure(new NovaException('InstanceNotFound', { instance_id: 'abc' }));
    expect(f).toMatchObject({
      class: 'InstanceNotFound',
      module: 'nova.exception',
      message: 'Instance abc could not be found.',
      args: ['Instance abc could not be found.'],
      kwargs: { instance_id: 'abc', code: 404 },
    });
    expect(toRemoteFailure(new NovaException('ConsoleTypeUnavailable', { console_type: 'novnc' })).kwargs).toEqual({ console_type: 'novnc', code: 400 });
  });

  it('oslo dispatcher errors and Python builtins keep their modules', () => {
    expect(toRemoteFailure(noSuchMethod('x'))).toMatchObject({ class: 'NoSuchMethod', module: 'oslo_messaging.rpc.dispatcher', kwargs: {} });
    expect(toRemoteFailure(new PythonTypeError('bad'))).toMatchObject({ class: 'TypeError', module: 'builtins', message: 'bad' });
  });

  it("Lodge's domain errors become nova exceptions", () => {
    expect(toRemoteFailure(new InvalidArgumentError('limits.cpu is wrong'))).toMatchObject({ class: 'InvalidInput', message: 'Invalid input received: limits.cpu is wrong' });
    expect(toRemoteFailure(new NotFoundError('gone'))).toMatchObject({ class: 'NovaException', message: 'gone', kwargs: { code: 500 } });
    expect(toRemoteFailure(new Error('boom'))).toMatchObject({ class: 'NovaException', module: 'nova.exception', message: 'boom' });
  });

  it('the traceback ends with the exception line, as Python formats it', () => {
    const f = toRemoteFailure(new NovaException('InstanceExists', { name: 'instance-00000001' }));
    expect(f.tb[f.tb.length - 1]).toBe('nova.exception.InstanceExists: Instance instance-00000001 already exists.\n');
  });
});
