import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { Inject, Injectable } from '@nestjs/common';
import { CERTIFICATE_STORE, CertificateStore } from './certificate.store';

/** Who is asking, as far as trust goes. */
export interface RequestAuth {
  trusted: boolean;
  /** 'unix': the local socket (always trusted); 'tls': the HTTPS listener. */
  protocol: 'unix' | 'tls';
  /** sha256 fingerprint of the TLS client certificate, when one was presented. */
  fingerprint?: string;
  /** DER of the TLS client certificate, when one was presented. */
  certificateDer?: Buffer;
  /** Remote address (`ip` for TLS, '@' for the unix socket). */
  address: string;
}

interface PeerCertificate {
  fingerprint: string;
  der: Buffer;
}

/**
 * Decides trust per request, as LXD does: the unix socket is trusted; over HTTPS the client
 * certificate's sha256 fingerprint must be in the trust store (checked on every request, so a
 * revoked certificate loses access at once, on open connections too).
 */
@Injectable()
export class TrustService {
  private readonly perRequest = new WeakMap<object, Promise<RequestAuth>>();
  private readonly perSocket = new WeakMap<object, PeerCertificate | null>();

  constructor(@Inject(CERTIFICATE_STORE) private readonly store: CertificateStore) {}

  /** The request's auth (computed once per request). */
  authenticate(req: IncomingMessage): Promise<RequestAuth> {
    let auth = this.perRequest.get(req);
    if (!auth) {
      auth = this.compute(req);
      this.perRequest.set(req, auth);
    }
    return auth;
  }

  private async compute(req: IncomingMessage): Promise<RequestAuth> {
    const socket = req.socket as Partial<TLSSocket>;
    if (socket.encrypted !== true || typeof socket.getPeerCertificate !== 'function') {
      return { trusted: true, protocol: 'unix', address: '@' };
    }
    const address = req.socket.remoteAddress ?? '';
    const peer = this.peerCertificate(socket as TLSSocket);
    if (!peer) return { trusted: false, protocol: 'tls', address };
    const trusted = (await this.store.get(peer.fingerprint)) !== undefined;
    return { trusted, protocol: 'tls', fingerprint: peer.fingerprint, certificateDer: peer.der, address };
  }

  private peerCertificate(socket: TLSSocket): PeerCertificate | undefined {
    let peer = this.perSocket.get(socket);
    if (peer === undefined) {
      const raw = socket.getPeerCertificate()?.raw;
      peer = raw && raw.length > 0 ? { fingerprint: createHash('sha256').update(raw).digest('hex'), der: raw } : null;
      this.perSocket.set(socket, peer);
    }
    return peer ?? undefined;
  }
}

/** sha256 fingerprint (lower-case hex) of a DER certificate. */
export function fingerprintOf(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex');
}
