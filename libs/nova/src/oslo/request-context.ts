import { randomUUID } from 'node:crypto';

/**
 * A nova RequestContext as it travels: every key of `RequestContext.to_dict()`, flattened into the
 * message as `_context_<key>`. Lodge keeps it as a plain record and hands the caller's context
 * back on the conductor calls made for that request (the request_id is how nova finds the
 * InstanceAction the API recorded).
 */
export type RequestContext = Record<string, unknown>;

const PREFIX = '_context_';

export function contextFromMessage(message: Record<string, unknown>): RequestContext {
  const ctx: RequestContext = {};
  for (const [k, v] of Object.entries(message)) if (k.startsWith(PREFIX)) ctx[k.slice(PREFIX.length)] = v;
  return ctx;
}

export function contextToMessage(ctx: RequestContext): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(ctx)) out[PREFIX + k] = v;
  return out;
}

/** nova's RequestContext timestamp: "YYYY-MM-DDTHH:MM:SS.ffffff" (UTC, no zone). */
function contextTimestamp(d = new Date()): string {
  return d.toISOString().replace('Z', '000');
}

/**
 * The admin context a compute host uses for its own work (service row, heartbeats, resource
 * reports, power sync): nova's get_admin_context() — no user or project, is_admin, a fresh id.
 */
export function adminContext(): RequestContext {
  return {
    auth_token: null,
    domain: null,
    global_request_id: null,
    is_admin: true,
    is_admin_project: true,
    project: null,
    project_domain: null,
    project_id: null,
    project_name: null,
    quota_class: null,
    read_deleted: 'no',
    read_only: false,
    remote_address: null,
    request_id: `req-${randomUUID()}`,
    resource_uuid: null,
    roles: [],
    service_catalog: [],
    show_deleted: false,
    system_scope: null,
    timestamp: contextTimestamp(),
    user: null,
    user_domain: null,
    user_id: null,
    user_identity: '- - - - -',
    user_name: null,
  };
}
