import { DomainError } from '@lodge/common';
import { HttpException } from '@nestjs/common';
import { StatusError } from './status-error';

export interface MappedError {
  status: number;
  message: string;
  /** true when the client gets a generic message and the cause must be logged. */
  internal: boolean;
}

/**
 * The one place where errors become LXD HTTP statuses.
 *
 * - NotFound 404 (wording kept: Juju matches "not found"), AlreadyExists 409 (Juju matches 409 /
 *   "already exists").
 * - Invalid, NotSupported, InUse and Conflict are 400, as LXD answers "instance is running",
 *   "pool is in use", "driver doesn't support X" with BadRequest. Conflict is NOT 409: clients
 *   read 409 as "already exists". An endpoint that Lodge does not implement yet uses
 *   NotImplementedError (501).
 * - StatusError carries its own status (412 ETag mismatch, 501, 403, 413).
 * - SystemError is 500 with its message ("pivot_root: EINVAL"); anything unknown is a generic 500.
 * - Express/body-parser errors: malformed JSON 400 (Nest turns the parser's SyntaxError into a
 *   BadRequestException carrying the parser's message, as LXD shows Go's decoder message), body
 *   over the limit 413.
 * - Nest HttpExceptions (route not found) keep their status; 404 reads "not found" as LXD's mux.
 */
export function mapError(err: unknown): MappedError {
  if (err instanceof StatusError) return { status: err.httpStatus, message: err.message, internal: false };
  if (err instanceof DomainError) {
    switch (err.kind) {
      case 'not-found':
        return { status: 404, message: err.message || 'not found', internal: false };
      case 'already-exists':
        return { status: 409, message: err.message || 'already exists', internal: false };
      case 'invalid':
      case 'not-supported':
      case 'in-use':
      case 'conflict':
        return { status: 400, message: err.message, internal: false };
      case 'system':
        return { status: 500, message: err.message, internal: true };
    }
  }
  if (err instanceof HttpException) {
    const status = err.getStatus();
    if (status === 404) return { status, message: 'not found', internal: false };
    if (status === 405) return { status: 404, message: 'not found', internal: false };
    if (status >= 500) return { status, message: 'Internal server error', internal: true };
    return { status, message: httpExceptionMessage(err), internal: false };
  }
  const bodyParser = err as { type?: string; status?: number; message?: string } | undefined;
  if (bodyParser && typeof bodyParser.type === 'string') {
    switch (bodyParser.type) {
      case 'entity.parse.failed':
        return { status: 400, message: bodyParser.message ?? 'Invalid JSON body', internal: false };
      case 'entity.too.large':
        return { status: 413, message: 'Request body too large', internal: false };
      case 'encoding.unsupported':
      case 'charset.unsupported':
        return { status: 415, message: bodyParser.message ?? 'Unsupported encoding', internal: false };
      case 'request.aborted':
        return { status: 400, message: 'Request aborted', internal: false };
    }
  }
  return { status: 500, message: 'Internal server error', internal: true };
}

function httpExceptionMessage(err: HttpException): string {
  const body = err.getResponse();
  if (typeof body === 'string') return body;
  const msg = (body as { message?: unknown }).message;
  if (Array.isArray(msg)) return msg.join('; ');
  if (typeof msg === 'string') return msg;
  return err.message;
}
