import { etagHash, etagMatches } from '@lodge/api-types';
import { PreconditionFailedError } from './status-error';

/**
 * If-Match check for PUT/PATCH, as LXD's EtagCheck: no header passes; otherwise the header
 * (quotes trimmed) must equal the hash of the object's current writable fields, else 412.
 */
export function checkIfMatch(ifMatch: string | undefined, currentWritable: unknown): void {
  const hash = etagHash(currentWritable);
  if (!etagMatches(ifMatch, hash)) {
    throw new PreconditionFailedError(`ETag doesn't match: ${hash} vs ${(ifMatch ?? '').replace(/^"+|"+$/g, '')}`);
  }
}
