import { AlreadyExistsError, ConflictError, KeyedLock, NotFoundError } from '@lodge/common';
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { pgErrorCode, translateDbError } from '../db-errors';
import { NetworkAllocationEntity } from '../entities/network-allocation.entity';
import { StateRepository } from './base.repository';

/** No free address is left in the network's pools. */
export class NetworkExhaustedError extends ConflictError {}

/** What to allocate: one NIC of an instance on a network. */
export interface NetworkAllocationRequest {
  networkId: number;
  instanceId: number;
  /** the instance's device name (`eth0`) */
  device: string;
  hwaddr: string;
  /** a static `ipv4.address` (already checked against the subnet by the caller) */
  ipv4Address?: string;
}

/**
 * Chooses an address given the ones taken on the network (the IPAM's nextFreeAddress bound to the
 * network's subnet and ranges); undefined when none is left.
 */
export type AddressPicker = (taken: string[]) => string | undefined;

/** A lease as the API shows it: the allocation with its instance's name. */
export interface NetworkLeaseRow {
  project: string;
  instance: string;
  device: string;
  hwaddr: string;
  ipv4Address: string | null;
  static: boolean;
}

/** Advisory lock class of dynamic allocations (ASCII "lona"); the object id is the network id. */
export const NETWORK_ALLOCATION_LOCK_CLASS = 0x6c6f6e61;

const IPV4_KEY = 'network_allocations_network_ipv4_key';
const HWADDR_KEY = 'network_allocations_network_hwaddr_key';
const DEVICE_KEY = 'network_allocations_instance_device_key';
const MAX_ATTEMPTS = 20;

const INSERT_SQL = `
INSERT INTO network_allocations (network_id, instance_id, device, hwaddr, ipv4_address, static)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id, network_id, instance_id, device, hwaddr::text AS hwaddr, host(ipv4_address) AS ipv4_address, static, created_at`;

/**
 * IP allocations on managed networks. The database guarantees uniqueness (UNIQUE per network on
 * the address and on the MAC). Dynamic picks queue so concurrent launches do not all pick the same
 * address: on an in-process lock per network on the launch path, or on a per-network advisory
 * lock inside a caller's transaction; a pick that still loses a race (a static address, or
 * another process) is picked again.
 */
@Injectable()
export class NetworkAllocationsRepository extends StateRepository {
  /**
   * A static address when `ipv4Address` is given (ConflictError when another NIC holds it), else
   * the address `pick` chooses from the taken ones (NetworkExhaustedError when it finds none), or
   * no address at all without a picker (a network without IPv4). AlreadyExistsError when the MAC
   * is taken on the network or the device already has an allocation.
   */
  async allocate(req: NetworkAllocationRequest, pick?: AddressPicker): Promise<NetworkAllocationEntity> {
    const isStatic = req.ipv4Address !== undefined;
    const params = (address: string | null) => [req.networkId, req.instanceId, req.device, req.hwaddr, address, isStatic];
    if (isStatic || !pick) return this.insert(this.manager, params(req.ipv4Address ?? null), req);
    if (!this.manager.queryRunner?.isTransactionActive) return this.allocatePicked(req, pick, params);
    return this.inTransaction(async (m) => {
      const q = <R>(sql: string, p: unknown[] = []) => this.with(m).query<R>(sql, p);
      if (isStatic || !pick) return this.insert(m, params(req.ipv4Address ?? null), req);
      await q('SELECT pg_advisory_xact_lock($1::int4, $2::int4)', [NETWORK_ALLOCATION_LOCK_CLASS, req.networkId]);
      for (let attempt = 1; ; attempt++) {
        const taken = await q<{ a: string }>(
          'SELECT host(ipv4_address) AS a FROM network_allocations WHERE network_id = $1 AND ipv4_address IS NOT NULL',
          [req.networkId],
        );
        const address = pick(taken.map((r) => r.a));
        if (address === undefined) throw new NetworkExhaustedError('No free IPv4 address is left on the network');
        await q('SAVEPOINT network_allocate');
        try {
          const row = await this.insert(m, params(address), req);
          await q('RELEASE SAVEPOINT network_allocate');
          return row;
        } catch (err) {
          await q('ROLLBACK TO SAVEPOINT network_allocate');
          if (!(err instanceof ConflictError) || constraintOf(err.cause) !== IPV4_KEY || attempt >= MAX_ATTEMPTS) throw err;
        }
      }
    });
  }

  /**
   * The launch path's pick, in two round trips: the daemon's own picks on a network queue on an
   * in-process lock (no transaction, no advisory lock to hold a connection for), and the unique
   * constraint still turns a pick that another process won into a retry, never a second holder.
   */
  private allocatePicked(
    req: NetworkAllocationRequest,
    pick: AddressPicker,
    params: (address: string | null) => unknown[],
  ): Promise<NetworkAllocationEntity> {
    return this.picks.run(String(req.networkId), async () => {
      for (let attempt = 1; ; attempt++) {
        const taken = await this.query<{ a: string }>(
          'SELECT host(ipv4_address) AS a FROM network_allocations WHERE network_id = $1 AND ipv4_address IS NOT NULL',
          [req.networkId],
        );
        const address = pick(taken.map((r) => r.a));
        if (address === undefined) throw new NetworkExhaustedError('No free IPv4 address is left on the network');
        try {
          return await this.insert(this.manager, params(address), req);
        } catch (err) {
          if (!(err instanceof ConflictError) || constraintOf(err.cause) !== IPV4_KEY || attempt >= MAX_ATTEMPTS) throw err;
        }
      }
    });
  }

  /** per network: this daemon's dynamic picks, one at a time */
  private readonly picks = new KeyedLock();

  private async insert(m: EntityManager, params: unknown[], req: NetworkAllocationRequest): Promise<NetworkAllocationEntity> {
    try {
      return this.hydrate(NetworkAllocationEntity, await this.with(m).query(INSERT_SQL, params))[0];
    } catch (err) {
      throw allocationError(err, req, params[4] as string | null);
    }
  }

  find(instanceId: number, device: string): Promise<NetworkAllocationEntity | null> {
    return this.manager.findOne(NetworkAllocationEntity, { where: { instanceId, device } });
  }

  async get(instanceId: number, device: string): Promise<NetworkAllocationEntity> {
    const row = await this.find(instanceId, device);
    if (!row) throw new NotFoundError(`No address is allocated to device "${device}"`);
    return row;
  }

  listForNetwork(networkId: number): Promise<NetworkAllocationEntity[]> {
    return this.manager.find(NetworkAllocationEntity, { where: { networkId }, order: { ipv4Address: 'ASC', id: 'ASC' } });
  }

  listForInstance(instanceId: number): Promise<NetworkAllocationEntity[]> {
    return this.manager.find(NetworkAllocationEntity, { where: { instanceId }, order: { device: 'ASC' } });
  }

  /** The network's allocations with instance names, in address order (for `/leases` and dhcp-hosts). */
  leases(networkId: number): Promise<NetworkLeaseRow[]> {
    return this.query<NetworkLeaseRow>(
      `SELECT i.project, i.name AS instance, a.device, a.hwaddr::text AS hwaddr,
              host(a.ipv4_address) AS "ipv4Address", a.static
         FROM network_allocations a JOIN instances i ON i.id = a.instance_id
        WHERE a.network_id = $1 ORDER BY a.ipv4_address NULLS LAST, a.id`,
      [networkId],
    );
  }

  /** Frees one NIC's allocation; false when it had none. */
  async release(instanceId: number, device: string): Promise<boolean> {
    const rows = await this.query('DELETE FROM network_allocations WHERE instance_id = $1 AND device = $2 RETURNING id', [instanceId, device]);
    return rows.length > 0;
  }

  /** Frees every allocation of an instance (deleting the instance does it too); the number freed. */
  async releaseInstance(instanceId: number): Promise<number> {
    return (await this.query('DELETE FROM network_allocations WHERE instance_id = $1 RETURNING id', [instanceId])).length;
  }
}

function constraintOf(err: unknown): string | undefined {
  const e = err as { constraint?: unknown; driverError?: { constraint?: unknown } } | undefined;
  const c = e?.constraint ?? e?.driverError?.constraint;
  return typeof c === 'string' ? c : undefined;
}

/** Unique violations worded per constraint; the rest as translateDbError words them. */
function allocationError(err: unknown, req: NetworkAllocationRequest, address: string | null): unknown {
  if (pgErrorCode(err) === '23505') {
    switch (constraintOf(err)) {
      case IPV4_KEY:
        return new ConflictError(`IP address "${address}" is already in use on the network`, { cause: err });
      case HWADDR_KEY:
        return new AlreadyExistsError(`MAC address "${req.hwaddr}" is already in use on the network`, { cause: err });
      case DEVICE_KEY:
        return new AlreadyExistsError(`Device "${req.device}" already has an address allocation`, { cause: err });
    }
  }
  if (pgErrorCode(err) === '23503') {
    return new NotFoundError(constraintOf(err)?.includes('instance') ? 'Instance not found' : 'Network not found', { cause: err });
  }
  return translateDbError(err);
}
