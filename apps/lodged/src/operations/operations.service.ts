import { Inject, Injectable, OnModuleDestroy, Optional } from '@nestjs/common';
import { NotFoundError } from '@lodge/common';
import { LodgeOperation, OperationListener, OperationSpec } from './operation';

/**
 * Persistence hook for operations (the PostgreSQL-backed store comes with libs/state). Called on
 * every state change and when a finished operation is forgotten.
 */
export interface OperationPersistence {
  save(op: LodgeOperation): void | Promise<void>;
  remove(id: string): void | Promise<void>;
}
export const OPERATION_PERSISTENCE = Symbol('OPERATION_PERSISTENCE');

/** Keeps nothing: the in-memory registry is the only record for now. */
export class NoopOperationPersistence implements OperationPersistence {
  save(): void {}
  remove(): void {}
}

/** How long a finished operation stays visible (LXD keeps it 5 s). */
export const OPERATION_RETENTION_MS = Symbol('OPERATION_RETENTION_MS');
export const DEFAULT_OPERATION_RETENTION_MS = 5_000;

/** In-memory registry of operations; every state change is published to listeners (events). */
@Injectable()
export class OperationsService implements OnModuleDestroy {
  private readonly ops = new Map<string, LodgeOperation>();
  private readonly listeners = new Set<OperationListener>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    @Optional() @Inject(OPERATION_PERSISTENCE) private readonly persistence: OperationPersistence = new NoopOperationPersistence(),
    @Optional() @Inject(OPERATION_RETENTION_MS) private readonly retentionMs: number = DEFAULT_OPERATION_RETENTION_MS,
  ) {}

  /** Registers a Pending operation (emits an event); call `start()` on it, or use `createAndStart`. */
  create(spec: OperationSpec): LodgeOperation {
    const op = new LodgeOperation(spec, (changed) => this.changed(changed));
    this.ops.set(op.id, op);
    this.changed(op);
    return op;
  }

  createAndStart(spec: OperationSpec): LodgeOperation {
    const op = this.create(spec);
    op.start();
    return op;
  }

  get(id: string): LodgeOperation {
    const op = this.ops.get(id);
    if (!op) throw new NotFoundError('Operation not found');
    return op;
  }

  list(project?: string): LodgeOperation[] {
    const all = [...this.ops.values()];
    return project === undefined ? all : all.filter((op) => op.project === project);
  }

  subscribe(listener: OperationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onModuleDestroy(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private changed(op: LodgeOperation): void {
    void Promise.resolve(this.persistence.save(op)).catch(() => undefined);
    for (const l of this.listeners) {
      try {
        l(op);
      } catch {
        // a listener never breaks an operation
      }
    }
    if (op.isFinal) {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.ops.delete(op.id);
        void Promise.resolve(this.persistence.remove(op.id)).catch(() => undefined);
      }, this.retentionMs);
      timer.unref();
      this.timers.add(timer);
    }
  }
}
