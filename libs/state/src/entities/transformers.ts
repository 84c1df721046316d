import { ValueTransformer } from 'typeorm';

/**
 * PostgreSQL `bigint` arrives from `pg` as a string (it can exceed 2^53). The values Lodge keeps in
 * bigint columns (byte sizes, host id bases) stay far below 2^53, so they are numbers in TypeScript.
 */
export const bigintNumber: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null | undefined) => (value === null || value === undefined ? value : Number(value)),
};
