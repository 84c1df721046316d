/** Event types served by GET /1.0/events in LXD 5.0. */
export const EVENT_TYPES = ['operation', 'logging', 'lifecycle'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export function isEventType(value: string): value is EventType {
  return (EVENT_TYPES as readonly string[]).includes(value);
}

/** One JSON text frame on the events websocket (api.Event). */
export interface LxdEvent<M = unknown> {
  type: EventType;
  /** RFC 3339 timestamp. */
  timestamp: string;
  metadata: M;
  /** "none" when not clustered. */
  location: string;
  project: string;
}

/** metadata of a `logging` event. */
export interface LoggingEventMetadata {
  message: string;
  level: 'debug' | 'info' | 'warning' | 'error';
  context: Record<string, string>;
}

/** metadata of a `lifecycle` event ("instance-created", "instance-started", ...). */
export interface LifecycleEventMetadata {
  action: string;
  /** URL of the object, e.g. /1.0/instances/c1 */
  source: string;
  context?: Record<string, unknown>;
  requestor?: { username: string; protocol: string; address: string } | null;
}
