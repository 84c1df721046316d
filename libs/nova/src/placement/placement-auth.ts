/**
 * Tokens for placement's X-Auth-Token header: a fixed token (development clouds, noauth2), or a
 * keystone v3 password login as nova's [placement] section does it, cached until shortly before
 * it expires and fetched again when placement answers 401.
 */

export interface KeystonePasswordAuthOptions {
  /** keystone's public endpoint, e.g. http://keystone:5000 or http://keystone:5000/v3 */
  authUrl: string;
  username: string;
  password: string;
  projectName: string;
  /** default: Default */
  userDomainName?: string;
  /** default: Default */
  projectDomainName?: string;
}

export interface TokenSource {
  /** A token to send now. */
  token(): Promise<string>;
  /** Placement refused the token (401): the next token() must not return it. */
  invalidate(token: string): void;
}

export class PlacementAuthError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PlacementAuthError';
  }
}

export class StaticToken implements TokenSource {
  constructor(private readonly value: string) {}

  async token(): Promise<string> {
    return this.value;
  }

  invalidate(): void {
    /* nothing else to try */
  }
}

/** A token is renewed this long before keystone says it expires (clock skew, long requests). */
export const TOKEN_RENEW_MARGIN_MS = 5 * 60 * 1000;

/** Whether a cached token that expires at `expiresAt` may still be sent at `now`. */
export function tokenStillUsable(expiresAt: number, now: number, margin = TOKEN_RENEW_MARGIN_MS): boolean {
  return Number.isFinite(expiresAt) && now < expiresAt - margin;
}

/** POST /v3/auth/tokens: password method, scoped to a project. */
export function keystoneTokenRequest(o: KeystonePasswordAuthOptions): { url: string; body: unknown } {
  const base = o.authUrl.replace(/\/+$/, '');
  return {
    url: `${/\/v3$/.test(base) ? base : `${base}/v3`}/auth/tokens`,
    body: {
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: o.username, domain: { name: o.userDomainName ?? 'Default' }, password: o.password } },
        },
        scope: { project: { name: o.projectName, domain: { name: o.projectDomainName ?? 'Default' } } },
      },
    },
  };
}

export class KeystonePasswordToken implements TokenSource {
  private cached: { token: string; expiresAt: number } | null = null;
  /** One login at a time: concurrent requests wait for the same one. */
  private pending: Promise<string> | null = null;

  constructor(
    private readonly options: KeystonePasswordAuthOptions,
    private readonly timeoutMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  async token(): Promise<string> {
    if (this.cached && tokenStillUsable(this.cached.expiresAt, this.now())) return this.cached.token;
    this.pending ??= this.login().finally(() => (this.pending = null));
    return this.pending;
  }

  invalidate(token: string): void {
    if (this.cached?.token === token) this.cached = null;
  }

  private async login(): Promise<string> {
    const { url, body } = keystoneTokenRequest(this.options);
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new PlacementAuthError(`keystone at ${url} unreachable: ${(err as Error).message}`, { cause: err });
    }
    const text = await res.text();
    const token = res.headers.get('x-subject-token');
    if (res.status !== 201 || !token) throw new PlacementAuthError(`keystone refused the login of ${this.options.username}: ${res.status} ${text.slice(0, 500)}`);
    let expiresAt = NaN;
    try {
      expiresAt = Date.parse((JSON.parse(text) as { token?: { expires_at?: string } }).token?.expires_at ?? '');
    } catch {
      /* no usable body: the token is used once and fetched again next time */
    }
    this.cached = { token, expiresAt };
    return token;
  }
}
