/**
 * Where a daemon listens and how to reach it: the local unix socket, or HTTPS with our client
 * certificate and the server certificate pinned when the remote was added.
 */
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';

export type Endpoint =
  | { kind: 'unix'; socketPath: string }
  | { kind: 'https'; url: string; clientCert: string; clientKey: string; serverCert?: string };

/** sha256 of a certificate's DER, lower-case hex without colons (as `lxc` shows fingerprints). */
export function certFingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase();
}

/**
 * TLS options for an HTTPS endpoint. The pinned certificate is the only trust anchor and the
 * host name is not checked: like `lxc`, we trust exactly the certificate the user accepted,
 * whatever address it is reached at.
 */
export function tlsOptions(e: Extract<Endpoint, { kind: 'https' }>) {
  const pinned = e.serverCert ? certFingerprint(e.serverCert) : undefined;
  return {
    cert: e.clientCert,
    key: e.clientKey,
    ca: e.serverCert,
    rejectUnauthorized: !!e.serverCert,
    checkServerIdentity: (_host: string, cert: PeerCertificate): Error | undefined => {
      if (!pinned) return undefined;
      const got = cert.fingerprint256.replace(/:/g, '').toLowerCase();
      return got === pinned ? undefined : new Error(`Server certificate changed: expected ${pinned}, got ${got}`);
    },
  };
}
