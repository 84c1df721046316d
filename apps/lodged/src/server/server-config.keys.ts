import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

/**
 * Server config keys Lodge accepts (a subset of LXD's). Each key: a validator (returns a reason
 * or undefined), whether GET shows it as `true` (hidden), and how the value is stored.
 * Moves to libs/config when it exists.
 */
export interface ServerConfigKey {
  validate(value: string): string | undefined;
  hidden?: boolean;
  store?(value: string): string;
}

export const SERVER_CONFIG_KEYS: Readonly<Record<string, ServerConfigKey>> = {
  /** Where the HTTPS API listens (applied live by HttpsListenerService; no port = 8443). */
  'core.https_address': { validate: validateListenAddress },
  /** Trust password for POST /1.0/certificates; stored as an scrypt hash, shown as true. */
  'core.trust_password': { validate: () => undefined, hidden: true, store: hashPassword },
  /** Hours between image auto-updates (0 disables). */
  'images.auto_update_interval': { validate: validateInt64 },
};

function validateInt64(value: string): string | undefined {
  if (!/^-?\d+$/.test(value)) return 'Invalid value for an integer';
  const n = BigInt(value);
  if (n > 9223372036854775807n || n < -9223372036854775808n) return 'Invalid value for an integer';
  return undefined;
}

const HOSTNAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/** A listen address: host, host:port, :port, [v6], [v6]:port or a bare IPv6; host may be a name. */
export function validateListenAddress(value: string): string | undefined {
  const bad = `Invalid listen address "${value}"`;
  let host: string;
  let port: string | undefined;
  const bracket = /^\[([^\]]*)\](?::(.*))?$/.exec(value);
  if (bracket) {
    host = bracket[1];
    port = bracket[2];
    if (isIP(host) !== 6) return bad;
  } else if (isIP(value) === 6) {
    return undefined;
  } else {
    const i = value.lastIndexOf(':');
    if (i >= 0) {
      host = value.slice(0, i);
      port = value.slice(i + 1);
    } else host = value;
    if (host !== '' && isIP(host) !== 4 && !HOSTNAME.test(host)) return bad;
  }
  if (port !== undefined) {
    if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) return bad;
  }
  return undefined;
}

export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, 32);
  return `scrypt$${salt.toString('hex')}$${hash.toString('hex')}`;
}

export function verifyPassword(password: string, stored: string): boolean {
  const [kind, saltHex, hashHex] = stored.split('$');
  if (kind !== 'scrypt' || !saltHex || !hashHex) return false;
  const expected = Buffer.from(hashHex, 'hex');
  const actual = scryptSync(password, Buffer.from(saltHex, 'hex'), expected.length);
  return timingSafeEqual(expected, actual);
}
