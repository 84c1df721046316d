import type { RequestContext } from '../oslo/request-context';

/** What an @OsloMethod handler receives: the caller's context and the keyword arguments. */
export interface OsloRequest<A = Record<string, unknown>> {
  context: RequestContext;
  args: A;
  method: string;
  /** A call (the caller waits for the reply) rather than a cast. */
  isCall: boolean;
}
