import { KeystonePasswordAuthOptions, KeystonePasswordToken, StaticToken, TokenSource } from './placement-auth';
import type { Inventories } from './inventory';

/**
 * The microversions nova 26's report client asks for, per call (nova/scheduler/client/report.py):
 * the body formats below are the ones these versions define.
 */
export const PLACEMENT_VERSIONS = {
  /** POST /resource_providers answers with the provider */
  createProvider: '1.20',
  /** PUT inventories allowing reserved == total */
  putInventories: '1.26',
} as const;

export interface PlacementOptions {
  /** placement's endpoint, e.g. http://controller:8778 (or .../placement behind a proxy) */
  url: string;
  /** a fixed X-Auth-Token (e.g. "admin" for a noauth2 placement) */
  token?: string;
  /** keystone v3 password login (production); used when no fixed token is given */
  keystone?: KeystonePasswordAuthOptions;
  /** per request, ms (default 30000) */
  timeoutMs?: number;
  /** nova's reserved_host_memory_mb / reserved_host_cpus / reserved_host_disk_mb */
  reserved?: { memoryMb?: number; vcpus?: number; diskMb?: number };
}

export interface PlacementResponse {
  status: number;
  /** the parsed JSON body, or the text when it is not JSON, or null when empty */
  body: unknown;
}

/** Placement did not answer (connection refused, timeout, DNS): the report is tried again later. */
export class PlacementUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PlacementUnavailableError';
  }
}

/** Placement answered with something the caller cannot use. */
export class PlacementRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'PlacementRequestError';
  }
}

/**
 * Placement's REST API, with the headers nova's keystoneauth adapter sends: Accept JSON,
 * `OpenStack-API-Version: placement <v>` per call, X-Auth-Token. A 401 gets one retry with a
 * fresh token.
 */
export class PlacementClient {
  private readonly base: string;

  constructor(
    url: string,
    private readonly auth: TokenSource | null,
    private readonly timeoutMs = 30_000,
  ) {
    this.base = url.replace(/\/+$/, '');
  }

  static fromOptions(o: PlacementOptions): PlacementClient {
    const auth = o.token ? new StaticToken(o.token) : o.keystone ? new KeystonePasswordToken(o.keystone, o.timeoutMs) : null;
    return new PlacementClient(o.url, auth, o.timeoutMs);
  }

  get endpoint(): string {
    return this.base;
  }

  async request(method: string, path: string, o: { version?: string; body?: unknown } = {}): Promise<PlacementResponse> {
    for (let attempt = 1; ; attempt++) {
      const token = this.auth ? await this.auth.token() : null;
      const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'lodged placement client' };
      if (o.version) headers['openstack-api-version'] = `placement ${o.version}`;
      if (token) headers['x-auth-token'] = token;
      if (o.body !== undefined) headers['content-type'] = 'application/json';
      let res: Response;
      let text: string;
      try {
        res = await fetch(this.base + path, {
          method,
          headers,
          body: o.body === undefined ? undefined : JSON.stringify(o.body),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        text = await res.text();
      } catch (err) {
        const reason = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
        throw new PlacementUnavailableError(`placement at ${this.base} did not answer ${method} ${path}: ${reason}`, { cause: err });
      }
      if (res.status === 401 && token && attempt === 1) {
        this.auth!.invalidate(token);
        continue;
      }
      return { status: res.status, body: parseBody(text) };
    }
  }

  createProvider(uuid: string, name: string): Promise<PlacementResponse> {
    return this.request('POST', '/resource_providers', { version: PLACEMENT_VERSIONS.createProvider, body: { uuid, name } });
  }

  /** The provider's generation and inventories, or null when the provider does not exist. */
  async getInventories(uuid: string): Promise<{ generation: number; inventories: Record<string, Record<string, unknown>> } | null> {
    const res = await this.request('GET', `/resource_providers/${uuid}/inventories`, { version: PLACEMENT_VERSIONS.putInventories });
    if (res.status === 404) return null;
    const body = expectStatus(res, 200, `GET inventories of ${uuid}`) as { resource_provider_generation: number; inventories: Record<string, Record<string, unknown>> };
    return { generation: body.resource_provider_generation, inventories: body.inventories ?? {} };
  }

  putInventories(uuid: string, generation: number, inventories: Inventories): Promise<PlacementResponse> {
    return this.request('PUT', `/resource_providers/${uuid}/inventories`, {
      version: PLACEMENT_VERSIONS.putInventories,
      body: { resource_provider_generation: generation, inventories },
    });
  }

  /**
   * DELETE /allocations/{consumer}, as nova-compute does with force=True (no consumer
   * generation check). True when there were allocations, false when there were none.
   */
  async deleteAllocations(consumer: string): Promise<boolean> {
    const res = await this.request('DELETE', `/allocations/${consumer}`);
    if (res.status === 404) return false;
    expectStatus(res, 204, `DELETE allocations of ${consumer}`);
    return true;
  }
}

function parseBody(text: string): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function expectStatus(res: PlacementResponse, status: number, what: string): unknown {
  if (res.status === status) return res.body;
  throw new PlacementRequestError(res.status, `placement: ${what}: ${res.status} ${typeof res.body === 'string' ? res.body : JSON.stringify(res.body)}`.slice(0, 1000));
}
