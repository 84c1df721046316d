import { InvalidArgumentError } from '@lodge/common';

/** Connection settings for `pg`; `host` is a hostname or, starting with '/', a unix socket directory. */
export interface PgConnectionOptions {
  host: string;
  port: number;
  user?: string;
  password?: string;
  database: string;
  ssl?: boolean | { rejectUnauthorized: boolean };
}

const DEFAULT_PORT = 5432;

/**
 * Parses a database URL. Accepted forms:
 *
 *   postgres://user:password@host:port/database          (also postgresql://, IPv6 as [::1])
 *   postgres://user@%2Fvar%2Flib%2Flodge%2Fdatabase%2Frun/database   (percent-encoded socket directory)
 *   postgres:///database?host=/var/lib/lodge/database/run&user=lodge  (libpq style)
 *   socket:/var/lib/lodge/database/run?db=lodge&user=lodge
 *   /var/lib/lodge/database/run                              (a socket directory: user and database `lodge`)
 *
 * `?sslmode=require` enables TLS without verification, `verify-ca`/`verify-full` with it.
 */
export function parseDatabaseUrl(url: string): PgConnectionOptions {
  const bad = (why: string) => new InvalidArgumentError(`Invalid database URL: ${why}`);
  if (url.startsWith('/')) {
    return { host: url.replace(/(.)\/+$/, '$1'), port: DEFAULT_PORT, user: 'lodge', database: 'lodge' };
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw bad('not a URL or an absolute socket directory');
  }
  const q = u.searchParams;
  const dec = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw bad(`bad percent-encoding in "${s}"`);
    }
  };
  if (u.protocol === 'socket:') {
    const host = dec(u.pathname);
    if (!host.startsWith('/')) throw bad('socket: needs an absolute directory');
    const opts: PgConnectionOptions = {
      host,
      port: q.has('port') ? parsePort(q.get('port')!, bad) : DEFAULT_PORT,
      database: q.get('db') ?? q.get('dbname') ?? q.get('database') ?? 'lodge',
      user: q.get('user') ?? 'lodge',
    };
    if (q.has('password')) opts.password = q.get('password')!;
    return opts;
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw bad(`unsupported scheme "${u.protocol.replace(/:$/, '')}" (postgres://, postgresql://, socket:)`);
  }
  let host = q.get('host') ?? dec(u.hostname);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host === '') throw bad('no host (give host:port, a %2F-encoded socket directory or ?host=/dir)');
  const database = dec(u.pathname.replace(/^\//, '')) || q.get('dbname') || q.get('database') || '';
  if (database === '') throw bad('no database name');
  const opts: PgConnectionOptions = {
    host,
    port: u.port ? parsePort(u.port, bad) : q.has('port') ? parsePort(q.get('port')!, bad) : DEFAULT_PORT,
    database,
  };
  const user = u.username ? dec(u.username) : q.get('user');
  if (user) opts.user = user;
  const password = u.password ? dec(u.password) : q.get('password');
  if (password) opts.password = password;
  const sslmode = q.get('sslmode');
  if (sslmode === 'require' || sslmode === 'prefer') opts.ssl = { rejectUnauthorized: false };
  else if (sslmode === 'verify-ca' || sslmode === 'verify-full') opts.ssl = true;
  else if (sslmode !== null && sslmode !== 'disable' && sslmode !== 'allow') throw bad(`unknown sslmode "${sslmode}"`);
  return opts;
}

function parsePort(s: string, bad: (why: string) => Error): number {
  const n = Number(s);
  if (!/^\d+$/.test(s) || n < 1 || n > 65535) throw bad(`bad port "${s}"`);
  return n;
}

/** A postgres:// URL for a unix socket directory (the form EmbeddedPostgres hands out). */
export function socketDatabaseUrl(socketDir: string, user: string, database: string): string {
  return `postgres://${encodeURIComponent(user)}@${encodeURIComponent(socketDir)}/${encodeURIComponent(database)}`;
}
