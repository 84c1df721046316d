import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { WebSocket } from 'ws';
import { EventType, LifecycleEventMetadata, LoggingEventMetadata, LxdEvent } from '@lodge/api-types';
import { OperationsService } from '../operations/operations.service';

interface Listener {
  ws: WebSocket;
  types: ReadonlySet<EventType>;
  /** undefined = all projects */
  project?: string;
}

/**
 * The event hub behind GET /1.0/events: JSON text frames in LXD's shape. Every operation state
 * change is broadcast as an `operation` event (the Go client waits for operations on these).
 */
@Injectable()
export class EventsService implements OnModuleDestroy {
  private readonly listeners = new Set<Listener>();
  private readonly unsubscribe: () => void;

  constructor(operations: OperationsService) {
    this.unsubscribe = operations.subscribe((op) => this.emit('operation', op.render(), op.project));
  }

  /** Adds a listener socket; it is removed when the socket closes. */
  addListener(ws: WebSocket, types: ReadonlySet<EventType>, project?: string): void {
    const listener: Listener = { ws, types, project };
    this.listeners.add(listener);
    const drop = () => this.listeners.delete(listener);
    ws.once('close', drop);
    ws.once('error', drop);
    // Listeners only receive; whatever a client sends is ignored.
    ws.on('message', () => undefined);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  emit(type: EventType, metadata: unknown, project = 'default'): void {
    const event: LxdEvent = { type, timestamp: new Date().toISOString(), metadata, location: 'none', project };
    let frame: string | undefined;
    for (const l of this.listeners) {
      if (!l.types.has(type)) continue;
      if (l.project !== undefined && l.project !== project) continue;
      if (l.ws.readyState !== WebSocket.OPEN) continue;
      frame ??= JSON.stringify(event);
      l.ws.send(frame);
    }
  }

  emitLifecycle(metadata: LifecycleEventMetadata, project = 'default'): void {
    this.emit('lifecycle', metadata, project);
  }

  emitLogging(metadata: LoggingEventMetadata): void {
    this.emit('logging', metadata);
  }

  onModuleDestroy(): void {
    this.unsubscribe();
    for (const l of this.listeners) l.ws.terminate();
    this.listeners.clear();
  }
}
