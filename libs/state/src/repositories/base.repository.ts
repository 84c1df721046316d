import { Inject, Injectable } from '@nestjs/common';
import { DataSource, EntityManager, EntityTarget, ObjectLiteral } from 'typeorm';

/**
 * Base of the state repositories: every query goes through `manager`, which is the DataSource's
 * manager, or a transaction's when the repository was bound with `with(manager)`.
 */
@Injectable()
export abstract class StateRepository {
  protected readonly manager: EntityManager;

  constructor(@Inject(DataSource) dataSource: DataSource) {
    this.manager = dataSource.manager;
  }

  /** This repository, running its queries on `manager` (e.g. inside a transaction). */
  with(manager: EntityManager): this {
    const bound = Object.create(Object.getPrototypeOf(this)) as this;
    Object.assign(bound, this, { manager });
    return bound;
  }

  /** Runs `fn` in a transaction (or in the current one when this repository is already bound to one). */
  protected inTransaction<T>(fn: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (this.manager.queryRunner?.isTransactionActive) return fn(this.manager);
    return this.manager.transaction(fn);
  }

  /**
   * Runs raw SQL and returns its rows. (`EntityManager.query` returns `[rows, count]` for UPDATE
   * and DELETE statements; this always returns the rows.)
   */
  protected async query<R = ObjectLiteral>(sql: string, parameters: unknown[] = []): Promise<R[]> {
    const own = this.manager.queryRunner;
    const runner = own && !own.isReleased ? own : this.manager.connection.createQueryRunner();
    try {
      const result = await runner.query(sql, parameters, true);
      return (result.records ?? []) as R[];
    } finally {
      if (runner !== own) await runner.release();
    }
  }

  /** The rows of a query builder's `execute()` result (UPDATE results come as `[rows, count]`). */
  protected rowsOf(result: { raw: unknown }): ObjectLiteral[] {
    const raw = result.raw;
    if (Array.isArray(raw) && raw.length === 2 && Array.isArray(raw[0]) && typeof raw[1] === 'number') return raw[0];
    return Array.isArray(raw) ? raw : [];
  }

  /** Maps raw rows (column names, e.g. from `RETURNING *`) to entity objects. */
  protected hydrate<T extends ObjectLiteral>(target: EntityTarget<T>, rows: ObjectLiteral[]): T[] {
    const meta = this.manager.connection.getMetadata(target);
    const driver = this.manager.connection.driver;
    return rows.map((row) => {
      const entity = meta.create() as T;
      for (const col of meta.columns) {
        if (col.databaseName in row) {
          (entity as ObjectLiteral)[col.propertyName] = driver.prepareHydratedValue(row[col.databaseName], col);
        }
      }
      return entity;
    });
  }
}

/**
 * The object without its undefined-valued keys (TypeORM would write NULL for them). Values are
 * typed loosely because TypeORM's deep-partial type rejects `Record<string, unknown>` jsonb maps.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function defined<T extends object>(o: T): { [K in keyof T]?: any } {
  const out: { [K in keyof T]?: unknown } = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
