import { InvalidArgumentError } from '@lodge/common';

/** `?recursion=` as LXD reads it: absent/empty = 0, otherwise a non-negative integer. */
export function parseRecursion(value: unknown): number {
  if (value === undefined || value === '') return 0;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  throw new InvalidArgumentError(`Invalid recursion value: ${String(value)}`);
}
