/**
 * Typed domain errors. Every layer throws these; transports map them in one place each
 * (REST -> LXD error envelope + HTTP status, nova RPC -> oslo failure with a nova exception name).
 */
export abstract class DomainError extends Error {
  abstract readonly kind: DomainErrorKind;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export type DomainErrorKind =
  | 'not-found'
  | 'already-exists'
  | 'invalid'
  | 'not-supported'
  | 'in-use'
  | 'conflict'
  | 'system';

export class NotFoundError extends DomainError {
  readonly kind = 'not-found' as const;
}

export class AlreadyExistsError extends DomainError {
  readonly kind = 'already-exists' as const;
}

/** Bad input: a value the caller can fix. */
export class InvalidArgumentError extends DomainError {
  readonly kind = 'invalid' as const;
}

export class NotSupportedError extends DomainError {
  readonly kind = 'not-supported' as const;
}

export class InUseError extends DomainError {
  readonly kind = 'in-use' as const;
}

/** The request is valid but conflicts with the current state (e.g. "instance is not running"). */
export class ConflictError extends DomainError {
  readonly kind = 'conflict' as const;
}

/**
 * A system call failed. `step` names what was being done ("pivot_root", "write uid_map"),
 * `errno` is the symbolic errno name ("EINVAL"), so the message reads "pivot_root: EINVAL".
 */
export class SystemError extends DomainError {
  readonly kind = 'system' as const;
  constructor(
    readonly step: string,
    readonly errno: string,
    detail?: string,
    options?: { cause?: unknown },
  ) {
    super(detail ? `${step}: ${errno} (${detail})` : `${step}: ${errno}`, options);
  }
}
