/**
 * LXD status codes (shared/api/status_code.go in LXD): used for operations (`status_code`),
 * the envelope of sync/async responses and instance state.
 */
export enum StatusCode {
  OperationCreated = 100,
  Started = 101,
  Stopped = 102,
  Running = 103,
  Cancelling = 104,
  Pending = 105,
  Starting = 106,
  Stopping = 107,
  Aborting = 108,
  Freezing = 109,
  Frozen = 110,
  Thawed = 111,
  Error = 112,
  Ready = 113,
  Success = 200,
  Failure = 400,
  Cancelled = 401,
}

const STATUS_TEXT: Record<StatusCode, string> = {
  [StatusCode.OperationCreated]: 'Operation created',
  [StatusCode.Started]: 'Started',
  [StatusCode.Stopped]: 'Stopped',
  [StatusCode.Running]: 'Running',
  [StatusCode.Cancelling]: 'Cancelling',
  [StatusCode.Pending]: 'Pending',
  [StatusCode.Starting]: 'Starting',
  [StatusCode.Stopping]: 'Stopping',
  [StatusCode.Aborting]: 'Aborting',
  [StatusCode.Freezing]: 'Freezing',
  [StatusCode.Frozen]: 'Frozen',
  [StatusCode.Thawed]: 'Thawed',
  [StatusCode.Error]: 'Error',
  [StatusCode.Ready]: 'Ready',
  [StatusCode.Success]: 'Success',
  [StatusCode.Failure]: 'Failure',
  [StatusCode.Cancelled]: 'Cancelled',
};

/** The human name LXD puts next to a status code ("Running", "Success", ...). */
export function statusText(code: StatusCode): string {
  return STATUS_TEXT[code] ?? '';
}

/** A status is final when its code is >= 200 (Success, Failure, Cancelled). */
export function isFinalStatus(code: StatusCode): boolean {
  return code >= 200;
}
