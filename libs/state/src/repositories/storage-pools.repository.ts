import { NotFoundError } from '@lodge/common';
import { Injectable } from '@nestjs/common';
import { withDbErrors } from '../db-errors';
import { StoragePoolEntity } from '../entities/storage-pool.entity';
import { defined, StateRepository } from './base.repository';

export const STORAGE_POOL_NOT_FOUND = 'Storage pool not found';
export const STORAGE_POOL_EXISTS = 'The storage pool already exists';

@Injectable()
export class StoragePoolsRepository extends StateRepository {
  async create(input: { name: string; driver: string; description?: string; config?: Record<string, string> }): Promise<StoragePoolEntity> {
    const res = await withDbErrors(
      () =>
        this.manager
          .createQueryBuilder()
          .insert()
          .into(StoragePoolEntity)
          .values(defined(input))
          .returning('*')
          .updateEntity(false)
          .execute(),
      STORAGE_POOL_EXISTS,
    );
    return this.hydrate(StoragePoolEntity, this.rowsOf(res))[0];
  }

  async get(name: string): Promise<StoragePoolEntity> {
    const row = await this.manager.findOne(StoragePoolEntity, { where: { name } });
    if (!row) throw new NotFoundError(STORAGE_POOL_NOT_FOUND);
    return row;
  }

  list(): Promise<StoragePoolEntity[]> {
    return this.manager.find(StoragePoolEntity, { order: { name: 'ASC' } });
  }

  async update(name: string, patch: { description?: string; config?: Record<string, string> }): Promise<StoragePoolEntity> {
    const set = defined(patch);
    if (Object.keys(set).length === 0) return this.get(name);
    const res = await this.manager
      .createQueryBuilder()
      .update(StoragePoolEntity)
      .set(set)
      .where('name = :name', { name })
      .returning('*')
      .updateEntity(false)
      .execute();
    const [row] = this.hydrate(StoragePoolEntity, this.rowsOf(res));
    if (!row) throw new NotFoundError(STORAGE_POOL_NOT_FOUND);
    return row;
  }

  /** Deletes a pool; InUseError while an instance has its root disk on it. */
  async delete(name: string): Promise<void> {
    const rows: unknown[] = await withDbErrors(() =>
      this.query('DELETE FROM storage_pools WHERE name = $1 RETURNING id', [name]),
      { deleting: true },
    );
    if (rows.length === 0) throw new NotFoundError(STORAGE_POOL_NOT_FOUND);
  }

  /** Instances (project and name) whose root disk is on this pool. */
  usedBy(name: string): Promise<Array<{ project: string; name: string }>> {
    return this.query(
      'SELECT project, name FROM instances WHERE storage_pool = $1 ORDER BY project, name',
      [name],
    );
  }
}
