import { InvalidArgumentError } from '@lodge/common';

/**
 * LXD's instance name rule (a valid hostname label): 1-63 characters of letters, digits and
 * '-', starting with a letter, not ending with '-'.
 */
export function validateInstanceName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !/^[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(name)) {
    throw new InvalidArgumentError(
      `Invalid instance name ${JSON.stringify(name)}: names are 1-63 characters of letters, digits and '-', start with a letter and do not end with '-'`,
    );
  }
}
