import { randomUUID } from 'node:crypto';
import { versionIsCompatible } from './versions';

/**
 * The oslo.messaging 2.0 envelope: every body on the wire is
 * `{"oslo.version": "2.0", "oslo.message": "<the inner message as a JSON string>"}`.
 */
export const OSLO_ENVELOPE_VERSION = '2.0';

/** Why a body could not be read as an oslo message; the server logs it and drops the body. */
export class MalformedMessageError extends Error {}

/** A new `_unique_id` / `_msg_id`: uuid4 without dashes, as oslo makes them. */
export function newMessageId(): string {
  return randomUUID().replace(/-/g, '');
}

/**
 * Encodes the inner message. Python's json escapes every non-ASCII character as \uXXXX; so do we,
 * so the bodies we send are byte-compatible with what oslo itself sends.
 */
export function encodeEnvelope(message: Record<string, unknown>): Buffer {
  const inner = asciiJson(message);
  return Buffer.from(asciiJson({ 'oslo.version': OSLO_ENVELOPE_VERSION, 'oslo.message': inner }), 'ascii');
}

/**
 * Reads a body. An un-enveloped JSON object is taken as the message itself, as oslo does for
 * pre-envelope senders; an envelope of another major version is refused.
 */
export function decodeEnvelope(body: Buffer): Record<string, unknown> {
  let outer: unknown;
  try {
    outer = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new MalformedMessageError(`body is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(outer)) throw new MalformedMessageError('body is not a JSON object');
  // oslo takes a body as an envelope only when it has both keys; anything else is the message
  if (!('oslo.version' in outer && 'oslo.message' in outer)) return outer;
  const version = outer['oslo.version'];
  // oslo's rule (version_is_compatible('2.0', v)): the same major and no newer minor, so a 2.1
  // envelope is refused too; a version that is not dotted numbers fails its int() and is dropped
  if (!envelopeVersionIsCompatible(version)) {
    throw new MalformedMessageError(`unsupported oslo envelope version ${JSON.stringify(version)}`);
  }
  const inner = outer['oslo.message'];
  if (typeof inner !== 'string') throw new MalformedMessageError('oslo.message is not a string');
  let message: unknown;
  try {
    message = JSON.parse(inner);
  } catch (err) {
    throw new MalformedMessageError(`oslo.message is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(message)) throw new MalformedMessageError('oslo.message is not a JSON object');
  return message;
}

function envelopeVersionIsCompatible(version: unknown): boolean {
  if (typeof version !== 'string') return false;
  try {
    return versionIsCompatible(OSLO_ENVELOPE_VERSION, version);
  } catch {
    return false;
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** JSON with every non-ASCII UTF-16 unit escaped, like Python's json.dumps(ensure_ascii=True). */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

/**
 * Receivers drop a message whose `_unique_id` is among the last 16 they saw (oslo's duplicate
 * check: a publisher retrying after a lost confirm may deliver a message twice).
 */
export class RecentIds {
  private readonly ids: string[] = [];
  constructor(private readonly size = 16) {}

  /** True when `id` was seen recently; otherwise remembers it. */
  seen(id: unknown): boolean {
    if (typeof id !== 'string') return false;
    if (this.ids.includes(id)) return true;
    this.ids.push(id);
    if (this.ids.length > this.size) this.ids.shift();
    return false;
  }
}
