import { DomainError } from '@lodge/common';
import { ValueError } from '../oslo/versions';
import { NovaException } from './nova-exceptions';

/**
 * An oslo failure as it travels in a reply's `failure` field (a JSON string of this record).
 * The caller re-creates `module.class(*args, **kwargs)` when it allows the module.
 */
export interface RemoteFailure {
  class: string;
  module: string;
  message: string;
  tb: string[];
  args: unknown[];
  kwargs: Record<string, unknown>;
}

/** oslo's own dispatcher errors (the caller sees them as oslo_messaging.RemoteError). */
export class DispatcherError extends Error {
  constructor(
    readonly oslClass: 'NoSuchMethod' | 'UnsupportedVersion',
    message: string,
  ) {
    super(message);
    this.name = oslClass;
  }
}

export function noSuchMethod(method: unknown): DispatcherError {
  return new DispatcherError('NoSuchMethod', `Endpoint does not support RPC method ${String(method)}`);
}

export function unsupportedVersion(version: unknown, method?: unknown): DispatcherError {
  let msg = `Endpoint does not support RPC version ${String(version)}`;
  if (method) msg += `. Attempted method: ${String(method)}`;
  return new DispatcherError('UnsupportedVersion', msg);
}

/** Python's TypeError (a call whose arguments do not fit the method, as Python would raise it). */
export class PythonTypeError extends Error {
  override readonly name = 'TypeError';
}

/** Python's AttributeError (e.g. oslo calling `.items()` on args that are not a dict). */
export class PythonAttributeError extends Error {
  override readonly name = 'AttributeError';
}

/**
 * The one place errors become oslo failures: nova exceptions keep their class and kwargs;
 * oslo dispatcher errors and Python builtins keep theirs; Lodge's domain errors become the
 * nearest nova exception; anything else is a NovaException carrying the message.
 */
export function toRemoteFailure(err: unknown): RemoteFailure {
  const tb = [`Traceback (most recent call last):\n`, `  lodge: ${err instanceof Error ? err.stack?.split('\n').slice(1, 4).join(' / ') : ''}\n`];
  if (err instanceof NovaException) {
    return failure(err.novaClass, 'nova.exception', err.message, tb, err.kwargs);
  }
  if (err instanceof DispatcherError) {
    return failure(err.oslClass, 'oslo_messaging.rpc.dispatcher', err.message, tb, {});
  }
  if (err instanceof PythonTypeError || err instanceof PythonAttributeError || err instanceof ValueError) {
    return failure(err.name, 'builtins', err.message, tb, {});
  }
  if (err instanceof DomainError) {
    const nova = novaExceptionFor(err);
    return failure(nova.novaClass, 'nova.exception', nova.message, tb, nova.kwargs);
  }
  const message = err instanceof Error ? err.message : String(err);
  return failure('NovaException', 'nova.exception', message, tb, { code: 500 });
}

function novaExceptionFor(err: DomainError): NovaException {
  switch (err.kind) {
    case 'invalid':
      return new NovaException('InvalidInput', { reason: err.message });
    default:
      return new NovaException('NovaException', {}, { message: err.message });
  }
}

function failure(cls: string, module: string, message: string, tb: string[], kwargs: Record<string, unknown>): RemoteFailure {
  return { class: cls, module, message, tb: [...tb, `${module}.${cls}: ${message}\n`], args: [message], kwargs };
}

/** A failure a remote peer (the conductor) sent back to one of Lodge's calls. */
export class RemoteCallError extends Error {
  /**
   * The call had been sent again after a reconnect: this failure may be the second copy's, the
   * first copy having run already (its reply lost with the broker). See CallOptions.
   */
  afterResend = false;

  constructor(readonly failure: Partial<RemoteFailure>) {
    super(`${failure.module ?? '?'}.${failure.class ?? '?'}: ${failure.message ?? ''}`);
    this.name = 'RemoteCallError';
  }

  get remoteClass(): string | undefined {
    return this.failure.class;
  }
}

/** The caller waited longer than the timeout for a reply (oslo's MessagingTimeout). */
export class MessagingTimeout extends Error {
  override readonly name = 'MessagingTimeout';
}
