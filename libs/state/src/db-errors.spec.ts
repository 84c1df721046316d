import { AlreadyExistsError, InUseError, InvalidArgumentError, NotFoundError } from '@lodge/common';
import { pgErrorCode, translateDbError } from './db-errors';

/** The shape TypeORM's QueryFailedError has: pg's fields copied, plus driverError. */
const pgError = (fields: Record<string, string>) => Object.assign(new Error('query failed'), { driverError: { ...fields } });

describe('translateDbError', () => {
  it('words unique violations by constraint, with a fallback', () => {
    const e = translateDbError(pgError({ code: '23505', constraint: 'instances_project_name_key', table: 'instances' }));
    expect(e).toBeInstanceOf(AlreadyExistsError);
    expect((e as Error).message).toBe('An instance with that name already exists');
    expect((e as Error).cause).toBeDefined();
    const f = translateDbError(pgError({ code: '23505', constraint: 'unknown_key' }), 'It exists');
    expect(f).toEqual(new AlreadyExistsError('It exists'));
  });

  it('tells a missing reference from a row still in use', () => {
    const fk = pgError({ code: '23503', constraint: 'instances_storage_pool_fkey', table: 'instances' });
    expect(translateDbError(fk)).toEqual(new NotFoundError('Storage pool not found'));
    expect(translateDbError(fk, { deleting: true })).toEqual(new InUseError('The storage pool is currently in use'));
  });

  it('maps check and input errors to InvalidArgumentError, leaves others alone', () => {
    expect(translateDbError(pgError({ code: '23514', message: 'violates check' }))).toBeInstanceOf(InvalidArgumentError);
    const other = pgError({ code: '40001' });
    expect(translateDbError(other)).toBe(other);
    const plain = new Error('x');
    expect(translateDbError(plain)).toBe(plain);
    const domain = new NotFoundError('Instance not found');
    expect(translateDbError(domain)).toBe(domain);
  });

  it('finds the SQLSTATE on the error or its driverError', () => {
    expect(pgErrorCode({ code: '23P01' })).toBe('23P01');
    expect(pgErrorCode(pgError({ code: '23505' }))).toBe('23505');
    expect(pgErrorCode({ code: 'ECONNREFUSED' })).toBeUndefined();
    expect(pgErrorCode(undefined)).toBeUndefined();
  });
});
