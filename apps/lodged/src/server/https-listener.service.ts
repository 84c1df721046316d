import type { RequestListener, Server as HttpServer, ServerResponse } from 'node:http';
import { createServer, Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { InvalidArgumentError } from '@lodge/common';
import { UpgradeRouter } from '../events/upgrade-router';
import { ServerCertificate } from './certificate';
import { listenAddresses, ListenTarget, parseListenAddress } from './listen-address';
import { ServerConfigService } from './server-config.service';
import { SERVER_CERTIFICATE } from './server-info.service';

export const HTTPS_ADDRESS_KEY = 'core.https_address';

interface Listener {
  /** The config value it serves. */
  address: string;
  target: ListenTarget;
  server: HttpsServer;
  family: 'IPv4' | 'IPv6';
  port: number;
  /** Every TLS connection (HTTP keep-alive and upgraded websockets). */
  sockets: Set<TLSSocket>;
  /** Responses in flight. */
  active: Set<ServerResponse>;
  closed: boolean;
}

/**
 * The HTTPS listener on core.https_address: the same Express app and the same websocket upgrade
 * routing as the unix socket, with the server certificate, TLS 1.2+, and the client certificate
 * requested but not verified (trust is decided per request by its fingerprint, see TrustService).
 *
 * Opened at start from the stored config (`startFromConfig`) and live when PUT/PATCH /1.0 changes
 * the key (registered as the key's ConfigApplier): the new address is bound before the config is
 * stored, so a bad or busy address is a 400 and the old listener stays as it was.
 */
@Injectable()
export class HttpsListenerService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('lodged');
  private current?: Listener;

  constructor(
    private readonly config: ServerConfigService,
    private readonly adapterHost: HttpAdapterHost,
    private readonly router: UpgradeRouter,
    @Inject(SERVER_CERTIFICATE) private readonly certificate: ServerCertificate,
  ) {}

  onModuleInit(): void {
    this.config.registerApplier(HTTPS_ADDRESS_KEY, (value) => this.switchTo(value));
  }

  async onModuleDestroy(): Promise<void> {
    const l = this.current;
    this.current = undefined;
    if (l) await this.closeListener(l, true);
  }

  /** Opens the listener for the stored address, if any. A failure is logged; the daemon runs on without it (as LXD). */
  startFromConfig(): Promise<void> {
    return this.config.exclusive(async () => {
      const address = await this.config.get(HTTPS_ADDRESS_KEY);
      if (!address || this.current?.address === address) return;
      try {
        await this.switchTo(address);
      } catch (err) {
        this.logger.error(`HTTPS listener on ${address}: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
  }

  /** The addresses clients can reach the HTTPS API on (`ip:port`); [] without a listener. */
  addresses(): string[] {
    const l = this.current;
    return l ? listenAddresses(l.target, l.family, l.port) : [];
  }

  /** The bound port, if listening (tests, logs). */
  get port(): number | undefined {
    return this.current?.port;
  }

  /**
   * Moves the listener to `address` (undefined/'' closes it). Returns the undo (back to the
   * previous address). Throws InvalidArgumentError when the address can't be parsed or bound; the
   * previous listener is then left (or put back) as it was.
   */
  private async switchTo(address: string | undefined): Promise<() => Promise<void>> {
    const old = this.current;
    const undo = async () => {
      await this.switchTo(old?.address);
    };
    if (!address) {
      if (old) {
        this.current = undefined;
        await this.closeListener(old, false);
      }
      return undo;
    }
    const target = parseListenAddress(address);
    if (old && old.target.host === target.host && old.target.port === target.port) {
      // Same socket, other spelling ("127.0.0.1" vs "127.0.0.1:8443"): keep the listener.
      const previous = old.address;
      old.address = address;
      return async () => {
        old.address = previous;
      };
    }
    let next: Listener;
    try {
      next = await this.open(address, target);
    } catch (err) {
      // Moving to another host on the same port (127.0.0.1:8443 -> 0.0.0.0:8443) collides with
      // ourselves: free the old socket, try again, and put the old one back if that fails too.
      if (!old || old.port !== target.port || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw bindError(err);
      this.current = undefined;
      await this.closeListener(old, false);
      try {
        next = await this.open(address, target);
      } catch (retryErr) {
        try {
          this.current = await this.open(old.address, old.target);
        } catch (reopenErr) {
          this.logger.error(`HTTPS listener on ${old.address} could not be reopened: ${String(reopenErr)}`);
        }
        throw bindError(retryErr);
      }
    }
    if (old && this.current === old) await this.closeListener(old, false);
    this.current = next;
    return undo;
  }

  private async open(address: string, target: ListenTarget): Promise<Listener> {
    const app = this.adapterHost.httpAdapter.getInstance<RequestListener>();
    const server = createServer(
      {
        cert: this.certificate.cert,
        key: this.certificate.key,
        minVersion: 'TLSv1.2',
        requestCert: true,
        rejectUnauthorized: false,
      },
      app,
    );
    const listener: Listener = {
      address,
      target,
      server,
      family: 'IPv6',
      port: target.port,
      sockets: new Set(),
      active: new Set(),
      closed: false,
    };
    server.on('secureConnection', (socket: TLSSocket) => {
      if (listener.closed) return void socket.destroy();
      listener.sockets.add(socket);
      socket.once('close', () => listener.sockets.delete(socket));
    });
    server.on('request', (_req, res: ServerResponse) => {
      listener.active.add(res);
      res.once('close', () => listener.active.delete(res));
      if (listener.closed && !res.headersSent) res.setHeader('Connection', 'close');
    });
    // TLS handshake failures (a plain HTTP client, a scanner) only concern that connection.
    server.on('tlsClientError', (_err, socket: Socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      server.once('error', onError);
      const done = () => {
        server.off('error', onError);
        resolve();
      };
      if (target.host === '') server.listen({ port: target.port }, done);
      else server.listen({ port: target.port, host: target.host }, done);
    });
    server.on('error', (err) => this.logger.error(`HTTPS listener on ${address}: ${err.message}`));
    const bound = server.address() as AddressInfo;
    listener.family = bound.family === 'IPv4' ? 'IPv4' : 'IPv6';
    listener.port = bound.port;
    this.router.attach(server as unknown as HttpServer);
    return listener;
  }

  /**
   * Stops accepting and frees the port at once. Idle and upgraded connections are closed; a request
   * in flight (e.g. the PUT /1.0 that moved the listener) gets its answer, then its connection closes.
   * `force` (daemon shutdown) closes everything.
   */
  private async closeListener(l: Listener, force: boolean): Promise<void> {
    if (l.closed) return;
    l.closed = true;
    this.router.detach(l.server as unknown as HttpServer);
    l.server.close();
    const busy = new Set<unknown>();
    if (!force) {
      for (const res of l.active) {
        busy.add(res.socket);
        if (!res.headersSent) res.setHeader('Connection', 'close');
        else res.once('finish', () => res.socket?.end());
      }
    }
    for (const socket of l.sockets) if (!busy.has(socket)) socket.destroy();
    if (force) l.server.closeAllConnections();
    // The listening socket is closed synchronously; one turn lets its handle go before a rebind.
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function bindError(err: unknown): InvalidArgumentError {
  if (err instanceof InvalidArgumentError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new InvalidArgumentError(`Cannot listen on https socket: ${message}`, { cause: err });
}
