import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { Injectable, Logger } from '@nestjs/common';
import { WebSocketServer } from 'ws';
import { errorEnvelope, EventType, EVENT_TYPES, isEventType } from '@lodge/api-types';
import { InvalidArgumentError } from '@lodge/common';
import { mapError } from '../http/error-mapping';
import { resolveProject } from '../http/project';
import { StatusError } from '../http/status-error';
import { OperationsService } from '../operations/operations.service';
import { NotAuthorizedError } from '../trust/trust.guard';
import { TrustService } from '../trust/trust.service';
import { EventsService } from './events.service';

const OPERATION_WS = /^\/1\.0\/operations\/([^/]+)\/websocket\/?$/;

/**
 * Routes HTTP upgrades (the HTTP server's `upgrade` event; Express never sees them):
 * - GET /1.0/events?type=...&project=...|all-projects=true -> events listener
 * - GET /1.0/operations/{id}/websocket?secret=... -> the operation's connect handler
 * Anything else, or a refusal, is answered with an LXD error envelope before the handshake.
 * Serves every listener (unix socket and HTTPS). Over HTTPS, events need a trusted client
 * certificate; operation websockets are authorised by their secret alone (as LXD's AllowUntrusted).
 */
@Injectable()
export class UpgradeRouter {
  private readonly logger = new Logger('lodged');
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private readonly servers = new Set<Server>();
  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.handle(req, socket, head);

  constructor(
    private readonly events: EventsService,
    private readonly operations: OperationsService,
    private readonly trust: TrustService,
  ) {}

  /** Routes the upgrades of `server` (an http.Server or https.Server). */
  attach(server: Server): void {
    if (this.servers.has(server)) return;
    this.servers.add(server);
    server.on('upgrade', this.onUpgrade);
  }

  detach(server: Server): void {
    if (this.servers.delete(server)) server.off('upgrade', this.onUpgrade);
  }

  close(): void {
    for (const server of [...this.servers]) this.detach(server);
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }

  private async handle(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    try {
      const url = new URL(req.url ?? '/', 'http://lodge');
      if (req.method !== 'GET') throw new StatusError(404, 'not found');
      const path = url.pathname;
      if (path === '/1.0/events' || path === '/1.0/events/') {
        if (!(await this.trust.authenticate(req)).trusted) throw new NotAuthorizedError();
        return this.events_(req, socket, head, url);
      }
      const m = OPERATION_WS.exec(path);
      if (m) return this.operationSocket(req, socket, head, url, decodeURIComponent(m[1]));
      throw new StatusError(404, 'not found');
    } catch (err) {
      const mapped = mapError(err);
      if (mapped.internal) this.logger.error(`upgrade ${req.url}: ${err instanceof Error ? err.stack : String(err)}`);
      rejectUpgrade(socket, mapped.status, mapped.message);
    }
  }

  private events_(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): void {
    const allProjects = url.searchParams.get('all-projects') === 'true';
    const project = allProjects ? undefined : resolveProject(url.searchParams.get('project') ?? undefined);
    const types = parseEventTypes(url.searchParams.get('type'));
    this.wss.handleUpgrade(req, socket, head, (ws) => this.events.addListener(ws, types, project));
  }

  private operationSocket(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL, id: string): void {
    resolveProject(url.searchParams.get('project') ?? undefined);
    const op = this.operations.get(id);
    const secret = url.searchParams.get('secret') ?? '';
    const handler = op.connect(secret, req);
    if (!handler) throw new StatusError(403, 'not authorized');
    this.wss.handleUpgrade(req, socket, head, (ws) => handler(ws, req));
  }
}

function parseEventTypes(value: string | null): ReadonlySet<EventType> {
  if (value === null || value === '') return new Set(EVENT_TYPES);
  const types = new Set<EventType>();
  for (const t of value.split(',')) {
    const name = t.trim();
    if (!isEventType(name)) throw new InvalidArgumentError(`'${name}' isn't a supported event type`);
    types.add(name);
  }
  return types;
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error' };

function rejectUpgrade(socket: Duplex, status: number, message: string): void {
  if (!socket.writable) return void socket.destroy();
  const body = JSON.stringify(errorEnvelope(status, message)) + '\n';
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}
