import { NotFoundError } from '@lodge/common';
import { Injectable } from '@nestjs/common';
import { withDbErrors } from '../db-errors';
import { OperationClass, OperationEntity } from '../entities/operation.entity';
import { defined, StateRepository } from './base.repository';

export interface CreateOperationInput {
  id: string;
  class: OperationClass;
  description?: string;
  statusCode: number;
  resources?: Record<string, string[]>;
  metadata?: Record<string, unknown> | null;
  mayCancel?: boolean;
  createdAt?: Date;
}

export interface OperationPatch {
  statusCode?: number;
  resources?: Record<string, string[]>;
  metadata?: Record<string, unknown> | null;
  err?: string;
  mayCancel?: boolean;
}

export const OPERATION_NOT_FOUND = 'Operation not found';

/** LXD status codes of operations that have not finished: Created, Running, Pending. */
export const UNFINISHED_STATUS_CODES = [100, 103, 105];

@Injectable()
export class OperationsRepository extends StateRepository {
  async create(input: CreateOperationInput): Promise<OperationEntity> {
    const res = await withDbErrors(() =>
      this.manager
        .createQueryBuilder()
        .insert()
        .into(OperationEntity)
        .values(defined(input))
        .returning('*')
        .updateEntity(false)
        .execute(),
    );
    return this.hydrate(OperationEntity, this.rowsOf(res))[0];
  }

  async get(id: string): Promise<OperationEntity> {
    if (!isUuid(id)) throw new NotFoundError(OPERATION_NOT_FOUND);
    const row = await this.manager.findOne(OperationEntity, { where: { id } });
    if (!row) throw new NotFoundError(OPERATION_NOT_FOUND);
    return row;
  }

  /** Every operation, oldest first. */
  list(): Promise<OperationEntity[]> {
    return this.manager.find(OperationEntity, { order: { createdAt: 'ASC', id: 'ASC' } });
  }

  /** Updates the given fields and `updated_at`, in one statement. */
  async update(id: string, patch: OperationPatch): Promise<OperationEntity> {
    if (!isUuid(id)) throw new NotFoundError(OPERATION_NOT_FOUND);
    const res = await this.manager
      .createQueryBuilder()
      .update(OperationEntity)
      .set({ ...defined(patch), updatedAt: () => 'now()' })
      .where('id = :id', { id })
      .returning('*')
      .updateEntity(false)
      .execute();
    const [row] = this.hydrate(OperationEntity, this.rowsOf(res));
    if (!row) throw new NotFoundError(OPERATION_NOT_FOUND);
    return row;
  }

  async delete(id: string): Promise<void> {
    if (!isUuid(id)) throw new NotFoundError(OPERATION_NOT_FOUND);
    const rows: unknown[] = await this.query('DELETE FROM operations WHERE id = $1 RETURNING id', [id]);
    if (rows.length === 0) throw new NotFoundError(OPERATION_NOT_FOUND);
  }

  /**
   * At daemon start: operations a previous daemon left unfinished can no longer finish. Marks them
   * failed (400) with `err`; returns how many.
   */
  async failUnfinished(err = 'The daemon restarted before the operation finished'): Promise<number> {
    const rows: unknown[] = await this.query(
      `UPDATE operations SET status_code = 400, err = $2, may_cancel = false, updated_at = now()
        WHERE status_code = ANY($1::int[]) RETURNING id`,
      [UNFINISHED_STATUS_CODES, err],
    );
    return rows.length;
  }

  /** Deletes finished operations last updated before `before`; returns how many. */
  async pruneFinished(before: Date): Promise<number> {
    const rows: unknown[] = await this.query(
      `DELETE FROM operations WHERE NOT (status_code = ANY($1::int[])) AND updated_at < $2 RETURNING id`,
      [UNFINISHED_STATUS_CODES, before],
    );
    return rows.length;
  }
}

function isUuid(s: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
}
