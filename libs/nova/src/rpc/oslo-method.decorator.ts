import { applyDecorators } from '@nestjs/common';
import { MessagePattern } from '@nestjs/microservices';
import type { OsloArgSpec } from './oslo-dispatcher';

/** What the server learns from an @OsloMethod handler. */
export interface OsloMethodMeta {
  namespace: string | null;
  method: string;
  args: OsloArgSpec;
}

export const OSLO_EXTRAS_KEY = 'oslo';

/**
 * Marks a controller method as the handler of an oslo RPC method in `namespace` (null: the
 * endpoint without a namespace, e.g. nova's ComputeManager). `args` are its keyword arguments,
 * checked before the handler runs, so a call that does not fit fails as it would in Python.
 */
export function OsloMethod(namespace: string | null, method: string, args: OsloArgSpec): MethodDecorator {
  const meta: OsloMethodMeta = { namespace, method, args };
  return applyDecorators(MessagePattern(`oslo:${namespace ?? ''}:${method}`, { [OSLO_EXTRAS_KEY]: meta }));
}
