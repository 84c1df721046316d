import { InUseError, NotFoundError } from '@lodge/common';
import { Injectable } from '@nestjs/common';
import { pgErrorCode, withDbErrors } from '../db-errors';
import { NetworkEntity, NetworkStatus, NetworkType } from '../entities/network.entity';
import { defined, StateRepository } from './base.repository';

export const NETWORK_NOT_FOUND = 'Network not found';
export const NETWORK_EXISTS = 'The network already exists';
export const NETWORK_IN_USE = 'The network is currently in use';

/** Managed networks by name (bridge names are host-wide, so network names are unique across projects). */
@Injectable()
export class NetworksRepository extends StateRepository {
  async create(input: {
    name: string;
    type?: NetworkType;
    description?: string;
    config?: Record<string, string>;
    status?: NetworkStatus;
  }): Promise<NetworkEntity> {
    const res = await withDbErrors(
      () => this.manager.createQueryBuilder().insert().into(NetworkEntity).values(defined(input)).returning('*').updateEntity(false).execute(),
      NETWORK_EXISTS,
    );
    return this.hydrate(NetworkEntity, this.rowsOf(res))[0];
  }

  async get(name: string): Promise<NetworkEntity> {
    const row = await this.find(name);
    if (!row) throw new NotFoundError(NETWORK_NOT_FOUND);
    return row;
  }

  find(name: string): Promise<NetworkEntity | null> {
    return this.manager.findOne(NetworkEntity, { where: { name } });
  }

  list(): Promise<NetworkEntity[]> {
    return this.manager.find(NetworkEntity, { order: { name: 'ASC' } });
  }

  /** Replaces the given fields (config as a whole); renaming is `rename`. */
  async update(
    name: string,
    patch: { description?: string; config?: Record<string, string>; status?: NetworkStatus },
  ): Promise<NetworkEntity> {
    const set = defined(patch);
    if (Object.keys(set).length === 0) return this.get(name);
    const res = await withDbErrors(() =>
      this.manager.createQueryBuilder().update(NetworkEntity).set(set).where('name = :name', { name }).returning('*').updateEntity(false).execute(),
    );
    const [row] = this.hydrate(NetworkEntity, this.rowsOf(res));
    if (!row) throw new NotFoundError(NETWORK_NOT_FOUND);
    return row;
  }

  setStatus(name: string, status: NetworkStatus): Promise<NetworkEntity> {
    return this.update(name, { status });
  }

  async rename(name: string, newName: string): Promise<NetworkEntity> {
    const rows = await withDbErrors(
      () => this.query('UPDATE networks SET name = $2 WHERE name = $1 RETURNING *', [name, newName]),
      NETWORK_EXISTS,
    );
    const [row] = this.hydrate(NetworkEntity, rows);
    if (!row) throw new NotFoundError(NETWORK_NOT_FOUND);
    return row;
  }

  /** Deletes a network; InUseError while any NIC holds an allocation on it. */
  async delete(name: string): Promise<void> {
    let rows: unknown[];
    try {
      rows = await this.query('DELETE FROM networks WHERE name = $1 RETURNING id', [name]);
    } catch (err) {
      // the allocations' foreign key has no cascade: a NIC still holds an address here
      if (pgErrorCode(err) === '23503') throw new InUseError(NETWORK_IN_USE, { cause: err });
      throw err;
    }
    if (rows.length === 0) throw new NotFoundError(NETWORK_NOT_FOUND);
  }
}
