/** The trust store API (/1.0/certificates) and certificate add tokens, as LXD 5.0 speaks them. */

/** Only client certificates exist in Lodge (LXD 5.0 also knows "metrics"). */
export type CertificateType = 'client';

/** Writable part of a certificate (api.CertificatePut), in LXD's field order. */
export interface CertificatePut {
  name: string;
  type: CertificateType;
  restricted: boolean;
  projects: string[];
  /** PEM. */
  certificate: string;
}

/** GET /1.0/certificates/{fingerprint} (api.Certificate). */
export interface Certificate extends CertificatePut {
  /** sha256 of the DER, lower-case hex. */
  fingerprint: string;
}

/**
 * POST /1.0/certificates (api.CertificatesPost). `certificate` is base64 DER (PEM accepted too);
 * empty means "the TLS client certificate of this connection". `token: true` asks for an add
 * token instead. `trust_token` is the newer explicit field (LXD 5.21); 5.0 clients send the token
 * as `password`.
 */
export interface CertificatesPost {
  name?: string;
  type?: string;
  restricted?: boolean;
  projects?: string[] | null;
  certificate?: string;
  password?: string;
  token?: boolean;
  trust_token?: string;
}

/**
 * What `lxc config trust add` prints and `lxc remote add <name> <token>` decodes
 * (api.CertificateAddToken, 5.0 fields): base64 (standard alphabet) of this JSON.
 */
export interface CertificateAddToken {
  client_name: string;
  /** sha256 fingerprint of the server certificate the client must see. */
  fingerprint: string;
  /** `ip:port` addresses the server listens on (HTTPS). */
  addresses: string[];
  secret: string;
}

export function encodeCertificateAddToken(token: CertificateAddToken): string {
  const ordered: CertificateAddToken = {
    client_name: token.client_name,
    fingerprint: token.fingerprint,
    addresses: [...token.addresses],
    secret: token.secret,
  };
  return Buffer.from(JSON.stringify(ordered), 'utf8').toString('base64');
}

/**
 * Decodes a certificate add token; undefined when the text is not one (then it is a plain trust
 * password). Requires the fields the 5.0 client requires: a client name, a secret and a fingerprint.
 */
export function decodeCertificateAddToken(text: string): CertificateAddToken | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const t = parsed as Record<string, unknown>;
  if (typeof t.client_name !== 'string' || t.client_name === '') return undefined;
  if (typeof t.secret !== 'string' || t.secret === '') return undefined;
  if (typeof t.fingerprint !== 'string' || t.fingerprint === '') return undefined;
  const addresses = Array.isArray(t.addresses) ? t.addresses.filter((a): a is string => typeof a === 'string') : [];
  return { client_name: t.client_name, fingerprint: t.fingerprint, addresses, secret: t.secret };
}

export function certificateUrl(fingerprint: string): string {
  return `/1.0/certificates/${fingerprint}`;
}
