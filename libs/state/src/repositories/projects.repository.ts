import { NotFoundError } from '@lodge/common';
import { Injectable } from '@nestjs/common';
import { withDbErrors } from '../db-errors';
import { ProjectEntity } from '../entities/project.entity';
import { defined, StateRepository } from './base.repository';

export const PROJECT_NOT_FOUND = 'Project not found';
export const PROJECT_EXISTS = 'The project already exists';

@Injectable()
export class ProjectsRepository extends StateRepository {
  async create(input: { name: string; description?: string; config?: Record<string, string> }): Promise<ProjectEntity> {
    const res = await withDbErrors(
      () =>
        this.manager
          .createQueryBuilder()
          .insert()
          .into(ProjectEntity)
          .values(defined(input))
          .returning('*')
          .updateEntity(false)
          .execute(),
      PROJECT_EXISTS,
    );
    return this.hydrate(ProjectEntity, this.rowsOf(res))[0];
  }

  async get(name: string): Promise<ProjectEntity> {
    const row = await this.manager.findOne(ProjectEntity, { where: { name } });
    if (!row) throw new NotFoundError(PROJECT_NOT_FOUND);
    return row;
  }

  list(): Promise<ProjectEntity[]> {
    return this.manager.find(ProjectEntity, { order: { name: 'ASC' } });
  }

  async update(name: string, patch: { description?: string; config?: Record<string, string> }): Promise<ProjectEntity> {
    const set = defined(patch);
    if (Object.keys(set).length === 0) return this.get(name);
    const res = await this.manager
      .createQueryBuilder()
      .update(ProjectEntity)
      .set(set)
      .where('name = :name', { name })
      .returning('*')
      .updateEntity(false)
      .execute();
    const [row] = this.hydrate(ProjectEntity, this.rowsOf(res));
    if (!row) throw new NotFoundError(PROJECT_NOT_FOUND);
    return row;
  }

  /** Deletes a project; InUseError while instances, profiles or aliases belong to it. */
  async delete(name: string): Promise<void> {
    const rows: unknown[] = await withDbErrors(() =>
      this.query('DELETE FROM projects WHERE name = $1 RETURNING id', [name]),
      { deleting: true },
    );
    if (rows.length === 0) throw new NotFoundError(PROJECT_NOT_FOUND);
  }
}
