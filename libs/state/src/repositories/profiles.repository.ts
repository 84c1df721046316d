import { InUseError, NotFoundError } from '@lodge/common';
import { Injectable } from '@nestjs/common';
import { withDbErrors } from '../db-errors';
import { DeviceMap } from '../entities/instance.entity';
import { ProfileEntity } from '../entities/profile.entity';
import { defined, StateRepository } from './base.repository';

export interface CreateProfileInput {
  name: string;
  project?: string;
  description?: string;
  config?: Record<string, string>;
  devices?: DeviceMap;
}

export interface ProfilePatch {
  description?: string;
  config?: Record<string, string>;
  devices?: DeviceMap;
}

export const PROFILE_NOT_FOUND = 'Profile not found';
export const PROFILE_EXISTS = 'The profile already exists';
export const PROFILE_IN_USE = 'Profile is currently in use';

@Injectable()
export class ProfilesRepository extends StateRepository {
  async create(input: CreateProfileInput): Promise<ProfileEntity> {
    const res = await withDbErrors(
      () =>
        this.manager
          .createQueryBuilder()
          .insert()
          .into(ProfileEntity)
          .values(defined({ project: 'default', ...input }))
          .returning('*')
          .updateEntity(false)
          .execute(),
      PROFILE_EXISTS,
    );
    return this.hydrate(ProfileEntity, this.rowsOf(res))[0];
  }

  async get(name: string, project = 'default'): Promise<ProfileEntity> {
    const row = await this.manager.findOne(ProfileEntity, { where: { project, name } });
    if (!row) throw new NotFoundError(PROFILE_NOT_FOUND);
    return row;
  }

  /** Several profiles in one query, returned in the order of `names`; NotFoundError if one is missing. */
  async getMany(names: string[], project = 'default'): Promise<ProfileEntity[]> {
    if (names.length === 0) return [];
    const rows: Record<string, unknown>[] = await this.query(
      'SELECT * FROM profiles WHERE project = $1 AND name = ANY($2::text[])',
      [project, names],
    );
    const byName = new Map(this.hydrate(ProfileEntity, rows).map((p) => [p.name, p]));
    return names.map((n) => {
      const p = byName.get(n);
      if (!p) throw new NotFoundError(PROFILE_NOT_FOUND);
      return p;
    });
  }

  list(project = 'default'): Promise<ProfileEntity[]> {
    return this.manager.find(ProfileEntity, { where: { project }, order: { name: 'ASC' } });
  }

  async listNames(project = 'default'): Promise<string[]> {
    const rows: Array<{ name: string }> = await this.query(
      'SELECT name FROM profiles WHERE project = $1 ORDER BY name',
      [project],
    );
    return rows.map((r) => r.name);
  }

  async update(name: string, patch: ProfilePatch, project = 'default'): Promise<ProfileEntity> {
    const set = defined(patch);
    if (Object.keys(set).length === 0) return this.get(name, project);
    const res = await this.manager
      .createQueryBuilder()
      .update(ProfileEntity)
      .set(set)
      .where('project = :project AND name = :name', { project, name })
      .returning('*')
      .updateEntity(false)
      .execute();
    const [row] = this.hydrate(ProfileEntity, this.rowsOf(res));
    if (!row) throw new NotFoundError(PROFILE_NOT_FOUND);
    return row;
  }

  /** Renames a profile and the references to it in the project's instances, in one transaction. */
  async rename(name: string, newName: string, project = 'default'): Promise<ProfileEntity> {
    return this.inTransaction(async (m) => {
      const rows: Record<string, unknown>[] = await withDbErrors(
        () => this.with(m).query('UPDATE profiles SET name = $3 WHERE project = $1 AND name = $2 RETURNING *', [project, name, newName]),
        PROFILE_EXISTS,
      );
      const [row] = this.hydrate(ProfileEntity, rows);
      if (!row) throw new NotFoundError(PROFILE_NOT_FOUND);
      await this.with(m).query(
        'UPDATE instances SET profiles = array_replace(profiles, $2, $3) WHERE project = $1 AND profiles @> ARRAY[$2]::text[]',
        [project, name, newName],
      );
      return row;
    });
  }

  /** Deletes a profile no instance uses; InUseError otherwise. */
  async delete(name: string, project = 'default'): Promise<void> {
    const rows: Array<{ deleted: boolean; used: boolean }> = await this.query(
      `WITH used AS (
         SELECT EXISTS (SELECT 1 FROM instances WHERE project = $1 AND profiles @> ARRAY[$2]::text[]) AS used
       ), del AS (
         DELETE FROM profiles WHERE project = $1 AND name = $2 AND NOT (SELECT used FROM used) RETURNING id
       )
       SELECT EXISTS (SELECT 1 FROM del) AS deleted, (SELECT used FROM used) AS used,
              EXISTS (SELECT 1 FROM profiles WHERE project = $1 AND name = $2) AS present`,
      [project, name],
    );
    const r = rows[0] as { deleted: boolean; used: boolean; present: boolean };
    if (r.deleted) return;
    if (!r.present) throw new NotFoundError(PROFILE_NOT_FOUND);
    throw new InUseError(PROFILE_IN_USE);
  }

  /** Names of the project's instances that use this profile, ordered (LXD's `used_by`). */
  async usedBy(name: string, project = 'default'): Promise<string[]> {
    const rows: Array<{ name: string }> = await this.query(
      'SELECT name FROM instances WHERE project = $1 AND profiles @> ARRAY[$2]::text[] ORDER BY name',
      [project, name],
    );
    return rows.map((r) => r.name);
  }
}
