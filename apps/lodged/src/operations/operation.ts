import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import {
  isFinalStatus,
  Operation,
  OperationClass,
  OperationResources,
  StatusCode,
  statusText,
} from '@lodge/api-types';
import { ConflictError } from '@lodge/common';

/** Hands an accepted operation websocket to its owner (exec fds, console, ...). */
export type OperationSocketHandler = (ws: WebSocket, req: IncomingMessage) => void;

export interface OperationSpec {
  class: OperationClass;
  description: string;
  project?: string;
  resources?: OperationResources | null;
  metadata?: Record<string, unknown> | null;
  mayCancel?: boolean;
  /**
   * The work (task and websocket classes). Resolves with metadata merged into the operation's
   * metadata on Success; a rejection becomes Failure with `err` = its message. `signal` aborts
   * when the operation is cancelled. Token operations have no `run`: they stay Running until
   * `complete()`/`fail()` or a cancel.
   */
  run?: (ctx: OperationContext) => Promise<Record<string, unknown> | void>;
  /** Called on DELETE /1.0/operations/{id} before the operation becomes Cancelled; throwing refuses the cancel. */
  onCancel?: (op: LodgeOperation) => Promise<void> | void;
  /**
   * websocket class: called for GET /1.0/operations/{id}/websocket?secret=. Returns the handler
   * that takes the upgraded socket, or undefined to refuse the secret (403).
   */
  connect?: (secret: string, req: IncomingMessage) => OperationSocketHandler | undefined;
}

export interface OperationContext {
  readonly operation: LodgeOperation;
  readonly signal: AbortSignal;
  /** Merges into the operation's metadata and emits an operation event (progress). */
  updateMetadata(patch: Record<string, unknown>): void;
}

export type OperationListener = (op: LodgeOperation) => void;

/** One operation with its lifecycle: Pending -> Running -> Success | Failure | (Cancelling ->) Cancelled. */
export class LodgeOperation {
  readonly id = randomUUID();
  readonly class: OperationClass;
  readonly description: string;
  readonly project: string;
  readonly createdAt = new Date();
  readonly mayCancel: boolean;
  private updatedAt = this.createdAt;
  private statusCode: StatusCode = StatusCode.Pending;
  private resources: OperationResources | null;
  private metadata: Record<string, unknown> | null;
  private err = '';
  private readonly abort = new AbortController();
  private readonly finished: Promise<void>;
  private resolveFinished!: () => void;

  constructor(
    readonly spec: OperationSpec,
    private readonly onChange: OperationListener,
  ) {
    this.class = spec.class;
    this.description = spec.description;
    this.project = spec.project ?? 'default';
    this.mayCancel = spec.mayCancel ?? false;
    this.resources = spec.resources ?? null;
    this.metadata = spec.metadata ?? null;
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
  }

  get status(): StatusCode {
    return this.statusCode;
  }

  get isFinal(): boolean {
    return isFinalStatus(this.statusCode);
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** The wire object (api.Operation). */
  render(): Operation {
    return {
      id: this.id,
      class: this.class,
      description: this.description,
      created_at: this.createdAt.toISOString(),
      updated_at: this.updatedAt.toISOString(),
      status: statusText(this.statusCode),
      status_code: this.statusCode,
      resources: this.resources ? structuredClone(this.resources) : null,
      metadata: this.metadata ? structuredClone(this.metadata) : null,
      may_cancel: this.mayCancel,
      err: this.err,
      location: 'none',
    };
  }

  /** Pending -> Running, then runs the work (if any) in the background. */
  start(): void {
    if (this.statusCode !== StatusCode.Pending) throw new ConflictError('Only pending operations can be started');
    this.setStatus(StatusCode.Running);
    const run = this.spec.run;
    if (!run) return;
    const ctx: OperationContext = {
      operation: this,
      signal: this.abort.signal,
      updateMetadata: (patch) => {
        if (this.isFinal) return;
        this.metadata = { ...(this.metadata ?? {}), ...patch };
        this.touch();
      },
    };
    Promise.resolve()
      .then(() => run(ctx))
      .then(
        (result) => this.complete(result ?? undefined),
        (error: unknown) => this.fail(error instanceof Error ? error.message : String(error)),
      );
  }

  /** Running -> Success (metadata merged). Ignored once final (e.g. after a cancel). */
  complete(metadata?: Record<string, unknown>): void {
    if (this.isFinal) return;
    if (metadata) this.metadata = { ...(this.metadata ?? {}), ...metadata };
    this.finish(StatusCode.Success);
  }

  /** Running -> Failure with `err`. Ignored once final. */
  fail(message: string): void {
    if (this.isFinal) return;
    this.err = message;
    this.finish(StatusCode.Failure);
  }

  /** Cancel as DELETE /1.0/operations/{id} does (LXD wording for the refusals). */
  async cancel(): Promise<void> {
    if (!this.mayCancel) throw new ConflictError("This operation can't be cancelled");
    if (this.statusCode !== StatusCode.Running && this.statusCode !== StatusCode.Pending) {
      throw new ConflictError('Only running operations can be cancelled');
    }
    const previous = this.statusCode;
    this.setStatus(StatusCode.Cancelling);
    try {
      await this.spec.onCancel?.(this);
    } catch (error) {
      this.setStatus(previous);
      throw error;
    }
    this.abort.abort();
    this.finish(StatusCode.Cancelled);
  }

  /** Resolves true when final, false when `timeoutMs` (if >= 0) passes or `signal` aborts first. */
  wait(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.isFinal) return Promise.resolve(true);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (value: boolean) => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(value);
      };
      const onAbort = () => done(false);
      if (timeoutMs >= 0) timer = setTimeout(() => done(false), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      void this.finished.then(() => done(true));
    });
  }

  /** The websocket handler for a secret, if this operation accepts it. */
  connect(secret: string, req: IncomingMessage): OperationSocketHandler | undefined {
    if (this.class !== 'websocket' || this.isFinal || !this.spec.connect) return undefined;
    return this.spec.connect(secret, req);
  }

  private finish(code: StatusCode): void {
    this.setStatus(code);
    this.resolveFinished();
  }

  private setStatus(code: StatusCode): void {
    this.statusCode = code;
    this.touch();
  }

  private touch(): void {
    this.updatedAt = new Date();
    this.onChange(this);
  }
}
