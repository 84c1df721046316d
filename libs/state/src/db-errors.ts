import { AlreadyExistsError, DomainError, InUseError, InvalidArgumentError, NotFoundError } from '@lodge/common';

/** What a violation of one named constraint means, in LXD's words. */
interface ConstraintMeaning {
  /** Table the constraint is declared on. */
  table: string;
  /** 23505 on this constraint. */
  exists?: string;
  /** 23503 while inserting/updating `table`: the referenced row is missing. */
  missing?: string;
  /** 23503 while deleting the referenced row: it is still referenced from `table`. */
  inUse?: string;
}

const CONSTRAINTS: Record<string, ConstraintMeaning> = {
  projects_name_key: { table: 'projects', exists: 'The project already exists' },
  storage_pools_name_key: { table: 'storage_pools', exists: 'The storage pool already exists' },
  instances_project_name_key: { table: 'instances', exists: 'An instance with that name already exists' },
  instances_nova_uuid_key: { table: 'instances', exists: 'An instance with that nova uuid already exists' },
  instances_project_fkey: { table: 'instances', missing: 'Project not found', inUse: 'The project is in use' },
  instances_storage_pool_fkey: {
    table: 'instances',
    missing: 'Storage pool not found',
    inUse: 'The storage pool is currently in use',
  },
  profiles_project_name_key: { table: 'profiles', exists: 'The profile already exists' },
  profiles_project_fkey: { table: 'profiles', missing: 'Project not found', inUse: 'The project is in use' },
  images_fingerprint_key: { table: 'images', exists: 'Image with same fingerprint already exists' },
  image_aliases_project_name_key: { table: 'image_aliases', exists: 'Alias already exists' },
  image_aliases_project_fkey: { table: 'image_aliases', missing: 'Project not found', inUse: 'The project is in use' },
  image_aliases_fingerprint_fkey: { table: 'image_aliases', missing: 'Image not found' },
  certificates_fingerprint_key: { table: 'certificates', exists: 'Certificate already in trust store' },
  server_config_pkey: { table: 'server_config', exists: 'Config key already exists' },
  operations_pkey: { table: 'operations', exists: 'Operation already exists' },
  idmap_allocations_instance_id_key: {
    table: 'idmap_allocations',
    exists: 'The instance already has an idmap allocation',
  },
  idmap_allocations_instance_id_fkey: { table: 'idmap_allocations', missing: 'Instance not found' },
};

/** The fields of a `pg` error (TypeORM's QueryFailedError copies them and keeps `driverError`). */
interface PgErrorFields {
  code?: string;
  constraint?: string;
  table?: string;
  detail?: string;
  message?: string;
}

/** The SQLSTATE of a database error, or undefined when `err` is not one. */
export function pgErrorCode(err: unknown): string | undefined {
  return pgFields(err)?.code;
}

function pgFields(err: unknown): PgErrorFields | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as PgErrorFields & { driverError?: unknown };
  if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) return e;
  if (e.driverError !== undefined) return pgFields(e.driverError);
  return undefined;
}

/** What the failing statement was doing, to word the error. */
export interface DbErrorContext {
  /** Message for a unique violation of a constraint not in the table. */
  exists?: string;
  /** The statement deletes rows: a foreign key violation means "still in use", not "missing". */
  deleting?: boolean;
}

/**
 * Turns a database error into a domain error with LXD wording when the violated constraint is
 * known: unique (23505) -> AlreadyExistsError; foreign key (23503) -> NotFoundError when a written
 * reference points nowhere, InUseError when a deleted row is still referenced; check (23514), not
 * null (23502) and bad text representation (22P02) -> InvalidArgumentError. Anything else is
 * returned unchanged. (PostgreSQL reports the referencing table in both foreign key cases, so the
 * direction comes from the caller.)
 */
export function translateDbError(err: unknown, context: DbErrorContext | string = {}): unknown {
  if (err instanceof DomainError) return err;
  const ctx = typeof context === 'string' ? { exists: context } : context;
  const f = pgFields(err);
  if (!f) return err;
  const meaning = f.constraint ? CONSTRAINTS[f.constraint] : undefined;
  switch (f.code) {
    case '23505': {
      const msg = meaning?.exists ?? ctx.exists;
      return msg ? new AlreadyExistsError(msg, { cause: err }) : err;
    }
    case '23503': {
      const msg = ctx.deleting ? meaning?.inUse : meaning?.missing;
      if (!msg) return err;
      return ctx.deleting ? new InUseError(msg, { cause: err }) : new NotFoundError(msg, { cause: err });
    }
    case '23514':
    case '22P02':
    case '23502':
      return new InvalidArgumentError(f.message ?? 'Invalid value', { cause: err });
    default:
      return err;
  }
}

/** Runs `fn`, rethrowing database errors as domain errors (see translateDbError). */
export async function withDbErrors<T>(fn: () => Promise<T>, context?: DbErrorContext | string): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw translateDbError(err, context);
  }
}
