/**
 * An error with an explicit HTTP status, for the few cases the domain errors of @lodge/common do
 * not name (LXD's api.StatusError): 412 ETag mismatch, 501 not implemented, 403, 413.
 */
export class StatusError extends Error {
  constructor(
    readonly httpStatus: number,
    message: string,
  ) {
    super(message);
    this.name = 'StatusError';
  }
}

/** 412: If-Match did not match the current ETag. */
export class PreconditionFailedError extends StatusError {
  constructor(message: string) {
    super(412, message);
    this.name = 'PreconditionFailedError';
  }
}

/** 501: the endpoint or method exists in LXD but not (yet) in Lodge. */
export class NotImplementedError extends StatusError {
  constructor(message = 'not implemented') {
    super(501, message);
    this.name = 'NotImplementedError';
  }
}
