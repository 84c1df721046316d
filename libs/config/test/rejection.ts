import { InvalidArgumentError } from '@lodge/common';

/** The message of the InvalidArgumentError `fn` throws; fails the test if it throws nothing else. */
export function rejection(fn: () => void): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    return (err as Error).message;
  }
  throw new Error('expected a rejection');
}
