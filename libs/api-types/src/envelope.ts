import { Operation, operationUrl } from './operation';
import { StatusCode, statusText } from './status-code';

/**
 * The LXD response envelope (api.ResponseRaw). All seven keys are always serialized: LXD's Go
 * struct has no omitempty, and clients (the Go client, pylxd, Juju) read them unconditionally.
 */
export interface ResponseEnvelope<M = unknown> {
  type: 'sync' | 'async' | 'error';
  status: string;
  status_code: number;
  operation: string;
  error_code: number;
  error: string;
  metadata: M;
}

export interface SyncEnvelope<M = unknown> extends ResponseEnvelope<M> {
  type: 'sync';
}

export interface AsyncEnvelope extends ResponseEnvelope<Operation> {
  type: 'async';
}

export interface ErrorEnvelope extends ResponseEnvelope<null> {
  type: 'error';
}

/** sync: HTTP 200 (201 when a Location is set), status Success/200. */
export function syncEnvelope<M>(metadata: M): SyncEnvelope<M> {
  return {
    type: 'sync',
    status: statusText(StatusCode.Success),
    status_code: StatusCode.Success,
    operation: '',
    error_code: 0,
    error: '',
    metadata,
  };
}

/** async: HTTP 202 with `Location: /1.0/operations/<id>`; the Operation is the metadata. */
export function asyncEnvelope(op: Operation): AsyncEnvelope {
  return {
    type: 'async',
    status: statusText(StatusCode.OperationCreated),
    status_code: StatusCode.OperationCreated,
    operation: operationUrl(op.id),
    error_code: 0,
    error: '',
    metadata: op,
  };
}

/** error: the real HTTP status is both the response status and `error_code`. */
export function errorEnvelope(httpStatus: number, message: string): ErrorEnvelope {
  return {
    type: 'error',
    status: '',
    status_code: 0,
    operation: '',
    error_code: httpStatus,
    error: message,
    metadata: null,
  };
}
