import { ConflictError, InvalidArgumentError, NotFoundError } from '@lodge/common';
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { pgErrorCode, withDbErrors } from '../db-errors';
import { IdmapAllocationEntity } from '../entities/idmap-allocation.entity';
import { StateRepository } from './base.repository';

/** A subordinate id range, as in /etc/subuid: ids start..start+count-1. */
export interface SubidRange {
  start: number;
  count: number;
}

/** No free range of the requested size is left in the subordinate ranges. */
export class IdmapExhaustedError extends ConflictError {}

export const IDMAP_NOT_FOUND = 'Instance has no idmap allocation';

/** Key of the transaction-level advisory lock that serialises allocations (ASCII "lodgeidm"). */
export const IDMAP_LOCK_KEY = '7813586034135213165';

/**
 * First fit of `size` ids in the given ranges, for the uid and the gid column independently, and
 * the insert, in one statement. Candidates are each range's start and the end of each allocation
 * inside a range; a candidate fits when [c, c+size) stays in its range and overlaps no allocation
 * (the overlap test is the exclusion constraint's own expression, so it uses its gist index).
 */
/** First-fit pick of `$6` ids for one kind (uid or gid) within its ranges (parameters $lo, $count). */
const pickSql = (kind: 'uid' | 'gid', lo: number, count: number): string => `
     ${kind}_ranges AS (SELECT r.s AS lo, r.s + r.c AS hi FROM unnest($${lo}::int8[], $${count}::int8[]) AS r(s, c)),
     ${kind}_pick AS (
       SELECT min(c.lo) AS base FROM (
         SELECT lo, hi FROM ${kind}_ranges
         UNION ALL
         SELECT a.host_${kind}_base + a.size, r.hi FROM idmap_allocations a
           JOIN ${kind}_ranges r ON a.host_${kind}_base + a.size >= r.lo AND a.host_${kind}_base + a.size < r.hi
       ) c
       WHERE c.lo + $6 <= c.hi
         AND NOT EXISTS (SELECT 1 FROM idmap_allocations a
                          WHERE int8range(a.host_${kind}_base, a.host_${kind}_base + a.size) && int8range(c.lo, c.lo + $6)))`;

const ALLOCATE_SQL = `
WITH${pickSql('uid', 2, 3)},${pickSql('gid', 4, 5)}
INSERT INTO idmap_allocations (instance_id, host_uid_base, host_gid_base, size)
SELECT $1, u.base, g.base, $6 FROM uid_pick u, gid_pick g
 WHERE u.base IS NOT NULL AND g.base IS NOT NULL
RETURNING *`;

/**
 * Host id ranges of unprivileged instances. Non-overlap is guaranteed by the database: two gist
 * exclusion constraints on int8range(base, base + size) for uids and gids. Allocations also take
 * a transaction-level advisory lock, so concurrent callers queue instead of colliding and retrying.
 */
@Injectable()
export class IdmapRepository extends StateRepository {
  /**
   * Allocates `size` consecutive host uids and gids for an instance, first fit within the
   * subordinate ranges (one list for both, or separate `uid`/`gid` lists). Atomic and safe under
   * concurrency. IdmapExhaustedError when no range fits, AlreadyExistsError when the instance
   * already has one, NotFoundError when the instance does not exist.
   */
  async allocate(
    instanceId: number,
    size: number,
    ranges: SubidRange[] | { uid: SubidRange[]; gid: SubidRange[] },
  ): Promise<IdmapAllocationEntity> {
    const { uid, gid } = Array.isArray(ranges) ? { uid: ranges, gid: ranges } : ranges;
    validateRequest(size, uid, gid);
    const params = [
      instanceId,
      uid.map((r) => String(r.start)),
      uid.map((r) => String(r.count)),
      gid.map((r) => String(r.start)),
      gid.map((r) => String(r.count)),
      size,
    ];
    const run = (m: EntityManager) =>
      withDbErrors(async () => {
        await this.with(m).query('SELECT pg_advisory_xact_lock($1::int8)', [IDMAP_LOCK_KEY]);
        return (await this.with(m).query(ALLOCATE_SQL, params)) as Record<string, unknown>[];
      });
    const nested = this.manager.queryRunner?.isTransactionActive === true;
    for (let attempt = 1; ; attempt++) {
      try {
        const rows = await this.inTransaction(run);
        const [row] = this.hydrate(IdmapAllocationEntity, rows);
        if (!row) throw new IdmapExhaustedError(`Not enough uid/gid available for the instance (${size} ids wanted)`);
        return row;
      } catch (err) {
        // 23P01: an allocation made without the lock took the range; first fit again.
        if (pgErrorCode(err) !== '23P01' || nested || attempt >= 5) throw err;
      }
    }
  }

  async get(instanceId: number): Promise<IdmapAllocationEntity> {
    const row = await this.manager.findOne(IdmapAllocationEntity, { where: { instanceId } });
    if (!row) throw new NotFoundError(IDMAP_NOT_FOUND);
    return row;
  }

  /** The allocation or null. */
  find(instanceId: number): Promise<IdmapAllocationEntity | null> {
    return this.manager.findOne(IdmapAllocationEntity, { where: { instanceId } });
  }

  list(): Promise<IdmapAllocationEntity[]> {
    return this.manager.find(IdmapAllocationEntity, { order: { hostUidBase: 'ASC' } });
  }

  /** Frees an instance's range (deleting the instance does it too); false when it had none. */
  async release(instanceId: number): Promise<boolean> {
    const rows: unknown[] = await this.query('DELETE FROM idmap_allocations WHERE instance_id = $1 RETURNING id', [
      instanceId,
    ]);
    return rows.length > 0;
  }
}

function validateRequest(size: number, uid: SubidRange[], gid: SubidRange[]): void {
  if (!Number.isSafeInteger(size) || size <= 0 || size > 0x7fffffff) {
    throw new InvalidArgumentError(`Invalid idmap size ${size}`);
  }
  for (const r of [...uid, ...gid]) {
    if (!Number.isSafeInteger(r.start) || r.start < 0 || !Number.isSafeInteger(r.count) || r.count <= 0) {
      throw new InvalidArgumentError(`Invalid subordinate id range ${r.start}:${r.count}`);
    }
  }
  if (uid.length === 0 || gid.length === 0) {
    throw new IdmapExhaustedError('No subordinate uid/gid ranges are configured for root (/etc/subuid, /etc/subgid)');
  }
}
