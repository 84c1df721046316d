import { NotFoundError } from '@lodge/common';

export const DEFAULT_PROJECT = 'default';

/**
 * `?project=` is accepted everywhere; only `default` exists for now. Returns the effective
 * project or throws 404 "Project not found".
 */
export function resolveProject(value: unknown): string {
  if (value === undefined || value === '' || value === DEFAULT_PROJECT) return DEFAULT_PROJECT;
  if (Array.isArray(value)) {
    if (value.length === 0) return DEFAULT_PROJECT;
    return resolveProject(value[value.length - 1]);
  }
  throw new NotFoundError('Project not found');
}
