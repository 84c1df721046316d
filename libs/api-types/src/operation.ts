import { StatusCode } from './status-code';

export type OperationClass = 'task' | 'websocket' | 'token';

/** Resource URLs touched by an operation, keyed by collection ("instances", "containers", ...). */
export type OperationResources = Record<string, string[]>;

/** The Operation object (api.Operation): the async envelope's metadata, GET /1.0/operations/{id}, operation events. */
export interface Operation {
  id: string;
  class: OperationClass;
  description: string;
  /** RFC 3339 timestamps. */
  created_at: string;
  updated_at: string;
  status: string;
  status_code: StatusCode;
  resources: OperationResources | null;
  metadata: Record<string, unknown> | null;
  may_cancel: boolean;
  err: string;
  /** "none" when the server is not clustered. */
  location: string;
}

/** GET /1.0/operations: URLs (recursion=0) or Operations (recursion=1) keyed by lower-case status. */
export type OperationsByStatus<T = string> = Record<string, T[]>;

export function operationUrl(id: string): string {
  return `/1.0/operations/${id}`;
}
