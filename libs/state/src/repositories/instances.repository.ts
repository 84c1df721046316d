import { NotFoundError } from '@lodge/common';
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { withDbErrors } from '../db-errors';
import { DeviceMap, InstanceEntity, InstanceStatus, InstanceType } from '../entities/instance.entity';
import { defined, StateRepository } from './base.repository';

export interface CreateInstanceInput {
  name: string;
  project?: string;
  type?: InstanceType;
  architecture: string;
  ephemeral?: boolean;
  stateful?: boolean;
  description?: string;
  config?: Record<string, string>;
  devices?: DeviceMap;
  profiles?: string[];
  status?: InstanceStatus;
  storagePool?: string | null;
  novaUuid?: string | null;
  createdAt?: Date;
  lastUsedAt?: Date | null;
}

/** Fields an update may change; omitted (undefined) fields are left as they are. */
export type InstancePatch = Partial<
  Pick<CreateInstanceInput, 'architecture' | 'ephemeral' | 'stateful' | 'description' | 'config' | 'devices' | 'profiles' | 'status' | 'storagePool' | 'novaUuid' | 'lastUsedAt'>
> & {
  runtime?: Record<string, unknown> | null;
};

export const INSTANCE_NOT_FOUND = 'Instance not found';
export const INSTANCE_EXISTS = 'An instance with that name already exists';

/** Lists every project when passed as `project`. */
export const ALL_PROJECTS = Symbol('all projects');

@Injectable()
export class InstancesRepository extends StateRepository {
  /** Inserts an instance; AlreadyExistsError when the name is taken in the project. */
  async create(input: CreateInstanceInput): Promise<InstanceEntity> {
    const res = await withDbErrors(
      () =>
        this.manager
          .createQueryBuilder()
          .insert()
          .into(InstanceEntity)
          .values(defined({ project: 'default', ...input }))
          .returning('*')
          .updateEntity(false)
          .execute(),
      INSTANCE_EXISTS,
    );
    return this.hydrate(InstanceEntity, this.rowsOf(res))[0];
  }

  async get(name: string, project = 'default'): Promise<InstanceEntity> {
    const row = await this.manager.findOne(InstanceEntity, { where: { project, name } });
    if (!row) throw new NotFoundError(INSTANCE_NOT_FOUND);
    return row;
  }

  async getById(id: number): Promise<InstanceEntity> {
    const row = await this.manager.findOne(InstanceEntity, { where: { id } });
    if (!row) throw new NotFoundError(INSTANCE_NOT_FOUND);
    return row;
  }

  /** The instance nova knows by this uuid, or null. */
  findByNovaUuid(novaUuid: string): Promise<InstanceEntity | null> {
    return this.manager.findOne(InstanceEntity, { where: { novaUuid } });
  }

  /** Every instance of a project (or of all projects), ordered by project and name: one query. */
  list(project: string | typeof ALL_PROJECTS = 'default'): Promise<InstanceEntity[]> {
    return this.manager.find(InstanceEntity, {
      where: project === ALL_PROJECTS ? {} : { project },
      order: { project: 'ASC', name: 'ASC' },
    });
  }

  /** Instances whose desired status is `status`, in every project (e.g. to restart after boot). */
  listByStatus(status: InstanceStatus): Promise<InstanceEntity[]> {
    return this.manager.find(InstanceEntity, { where: { status }, order: { project: 'ASC', name: 'ASC' } });
  }

  /** Instance names of a project, ordered. */
  async listNames(project = 'default'): Promise<string[]> {
    const rows: Array<{ name: string }> = await this.query(
      'SELECT name FROM instances WHERE project = $1 ORDER BY name',
      [project],
    );
    return rows.map((r) => r.name);
  }

  /** Updates the given fields in one statement and returns the new row. */
  async update(name: string, patch: InstancePatch, project = 'default'): Promise<InstanceEntity> {
    const set = defined(patch);
    if (Object.keys(set).length === 0) return this.get(name, project);
    const res = await withDbErrors(() =>
      this.manager
        .createQueryBuilder()
        .update(InstanceEntity)
        .set(set)
        .where('project = :project AND name = :name', { project, name })
        .returning('*')
        .updateEntity(false)
        .execute(),
    );
    const [row] = this.hydrate(InstanceEntity, this.rowsOf(res));
    if (!row) throw new NotFoundError(INSTANCE_NOT_FOUND);
    return row;
  }

  setStatus(name: string, status: InstanceStatus, project = 'default'): Promise<InstanceEntity> {
    return this.update(name, { status }, project);
  }

  /**
   * A start's bookkeeping in one write: Running, last used now, the runtime's record, the
   * volatile keys the start produced (NIC MACs and host-side names) merged into the config, and
   * the keys it used up (volatile.apply_template) removed.
   */
  async markRunning(
    name: string,
    runtime: Record<string, unknown>,
    volatile: Record<string, string> = {},
    unset: string[] = [],
    project = 'default',
  ): Promise<InstanceEntity> {
    const rows: Record<string, unknown>[] = await this.query(
      `UPDATE instances SET status = 'Running', last_used_at = now(), runtime = $3::jsonb, config = (config - $5::text[]) || $4::jsonb
        WHERE project = $1 AND name = $2 RETURNING *`,
      [project, name, JSON.stringify(runtime), JSON.stringify(volatile), unset],
    );
    const [row] = this.hydrate(InstanceEntity, rows);
    if (!row) throw new NotFoundError(INSTANCE_NOT_FOUND);
    return row;
  }

  /** Stores (or clears, with null) the runtime's ContainerRecord. */
  setRuntime(name: string, runtime: Record<string, unknown> | null, project = 'default'): Promise<InstanceEntity> {
    return this.update(name, { runtime }, project);
  }

  /** Sets config keys (string values) and removes keys given as null, in one statement. */
  async patchConfig(name: string, changes: Record<string, string | null>, project = 'default'): Promise<InstanceEntity> {
    const set: Record<string, string> = {};
    const unset: string[] = [];
    for (const [k, v] of Object.entries(changes)) {
      if (v === null) unset.push(k);
      else set[k] = v;
    }
    const rows: Record<string, unknown>[] = await this.query(
      `UPDATE instances SET config = (config - $3::text[]) || $4::jsonb
        WHERE project = $1 AND name = $2 RETURNING *`,
      [project, name, unset, JSON.stringify(set)],
    );
    const [row] = this.hydrate(InstanceEntity, rows);
    if (!row) throw new NotFoundError(INSTANCE_NOT_FOUND);
    return row;
  }

  /** Renames an instance; AlreadyExistsError when the new name is taken. */
  async rename(name: string, newName: string, project = 'default'): Promise<InstanceEntity> {
    const rows: Record<string, unknown>[] = await withDbErrors(
      () =>
        this.query('UPDATE instances SET name = $3 WHERE project = $1 AND name = $2 RETURNING *', [
          project,
          name,
          newName,
        ]),
      INSTANCE_EXISTS,
    );
    const [row] = this.hydrate(InstanceEntity, rows);
    if (!row) throw new NotFoundError(INSTANCE_NOT_FOUND);
    return row;
  }

  /** Deletes an instance; its idmap allocation goes with it (ON DELETE CASCADE). */
  async delete(name: string, project = 'default'): Promise<void> {
    const rows: unknown[] = await withDbErrors(() =>
      this.query('DELETE FROM instances WHERE project = $1 AND name = $2 RETURNING id', [project, name]),
    );
    if (rows.length === 0) throw new NotFoundError(INSTANCE_NOT_FOUND);
  }

  /**
   * Runs `fn` in one transaction: `tx` is this repository bound to it, `manager` binds others
   * (`idmap.with(manager)`). Nested calls join the outer transaction.
   */
  transaction<T>(fn: (tx: InstancesRepository, manager: EntityManager) => Promise<T>): Promise<T> {
    return this.inTransaction((m) => fn(this.with(m), m));
  }
}
