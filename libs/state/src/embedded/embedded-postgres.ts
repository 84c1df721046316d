import { NotSupportedError, SystemError } from '@lodge/common';
import { execFile } from 'node:child_process';
import { promises as fs, constants as fsConstants, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { socketDatabaseUrl } from '../database-url';

export interface EmbeddedPostgresOptions {
  /** The daemon's state directory; the server lives in `<dir>/database`. */
  dir: string;
  /** Where Debian's versioned server trees live (default /usr/lib/postgresql). */
  postgresqlRoot?: string;
  /** System user that runs the server when we are root (root cannot run postgres). Default `postgres`. */
  systemUser?: string;
  /** When running as root and the system user is missing, create it with useradd (default true). */
  createSystemUser?: boolean;
  /** Superuser and database name (default `lodge`). */
  user?: string;
  database?: string;
  /** Number in the socket file name `.s.PGSQL.<port>`; no TCP port is opened. Default 5432. */
  port?: number;
  /** How long start and stop may take (default 60 s). */
  timeoutSeconds?: number;
}

export interface PostgresBinaries {
  version: number;
  binDir: string;
}

export interface EmbeddedPostgresTimings {
  /** initdb, when this start created the cluster. */
  initdbMs?: number;
  /** pg_ctl start until the server accepted connections (0 when an already running server was reused). */
  startMs: number;
  /** Whether start() found a server already running on the data directory and reused it. */
  reused: boolean;
}

interface Account {
  uid: number;
  gid: number;
}

/**
 * A private, real PostgreSQL server under `<dir>/database`, run from Debian's server binaries:
 *
 *   <dir>/database/           0700, owned by the server's user
 *   <dir>/database/data/      the cluster (PGDATA)
 *   <dir>/database/run/       its unix socket; no TCP (listen_addresses = '')
 *   <dir>/database/postgres.log
 *
 * Local socket connections are trusted; the superuser and the database are `lodge`. The server is
 * detached from the daemon (own session): a daemon that crashed finds it running and reuses it.
 */
export class EmbeddedPostgres {
  readonly databaseDir: string;
  readonly dataDir: string;
  readonly socketDir: string;
  readonly logFile: string;
  readonly user: string;
  readonly database: string;
  readonly port: number;
  /** Set by the last successful start(). */
  timings?: EmbeddedPostgresTimings;

  private starting?: Promise<void>;
  private readonly timeoutSeconds: number;

  constructor(private readonly options: EmbeddedPostgresOptions) {
    this.databaseDir = path.join(path.resolve(options.dir), 'database');
    this.dataDir = path.join(this.databaseDir, 'data');
    this.socketDir = path.join(this.databaseDir, 'run');
    this.logFile = path.join(this.databaseDir, 'postgres.log');
    this.user = options.user ?? 'lodge';
    this.database = options.database ?? 'lodge';
    this.port = options.port ?? 5432;
    this.timeoutSeconds = options.timeoutSeconds ?? 60;
  }

  /** Connection URL through the socket directory, for StateModule / parseDatabaseUrl. */
  get url(): string {
    return socketDatabaseUrl(this.socketDir, this.user, this.database);
  }

  /**
   * Creates the cluster on first use, then starts the server and waits until it accepts
   * connections. Idempotent; reuses a server already running on the data directory and recovers
   * from a crashed one (stale postmaster.pid).
   */
  start(): Promise<void> {
    this.starting ??= this.doStart().finally(() => (this.starting = undefined));
    return this.starting;
  }

  /** Fast shutdown (active sessions are rolled back), waiting until the server has exited. No-op when stopped. */
  async stop(): Promise<void> {
    await this.starting?.catch(() => undefined);
    if (!(await exists(path.join(this.dataDir, 'PG_VERSION')))) return;
    if (!(await this.runningPostmaster())) return;
    const bins = await this.binaries();
    const account = await this.account();
    await this.run(account, path.join(bins.binDir, 'pg_ctl'), [
      'stop', '-D', this.dataDir, '-m', 'fast', '-w', '-t', String(this.timeoutSeconds), '-s',
    ], 'pg_ctl stop');
  }

  /** The postmaster's PID from postmaster.pid, or undefined when there is none. */
  async pid(): Promise<number | undefined> {
    try {
      return parsePostmasterPid(await fs.readFile(path.join(this.dataDir, 'postmaster.pid'), 'utf8'));
    } catch {
      return undefined;
    }
  }

  /** The highest Debian server version under `root` that has initdb, postgres and pg_ctl. */
  static async findBinaries(root = '/usr/lib/postgresql', wantVersion?: number): Promise<PostgresBinaries> {
    let entries: string[] = [];
    try {
      entries = await fs.readdir(root);
    } catch {
      /* no PostgreSQL at all */
    }
    const versions = entries.filter((e) => /^\d+(\.\d+)?$/.test(e)).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) {
      if (wantVersion !== undefined && Number(v) !== wantVersion) continue;
      const binDir = path.join(root, v, 'bin');
      const ok = await Promise.all(['initdb', 'postgres', 'pg_ctl'].map((b) => isExecutable(path.join(binDir, b))));
      if (ok.every(Boolean)) return { version: Number(v), binDir };
    }
    const what = wantVersion !== undefined ? `PostgreSQL ${wantVersion} server binaries` : 'PostgreSQL server binaries';
    throw new NotSupportedError(
      `The embedded database needs ${what} (initdb, postgres, pg_ctl under ${root}/<version>/bin): ` +
        `apt-get install postgresql${wantVersion !== undefined ? `-${wantVersion}` : ''}, or configure an external database URL`,
    );
  }

  // ---- internals ----

  private async doStart(): Promise<void> {
    const account = await this.account();
    await this.prepareDirs(account);
    const bins = await this.binaries();
    let initdbMs: number | undefined;
    if (!(await exists(path.join(this.dataDir, 'PG_VERSION')))) initdbMs = await this.initdb(bins, account);
    await this.writeSettings(account);

    let reused = false;
    const t0 = performance.now();
    const running = await this.runningPostmaster();
    if (running) {
      reused = true;
      if (running.status !== 'ready') {
        // another process is starting or stopping it right now
        const failure = await this.waitReady(undefined, await fileSize(this.logFile), Date.now() + this.timeoutSeconds * 1000);
        if (failure !== undefined) throw new SystemError('start PostgreSQL', 'EFAILED', lastLines(failure, 5));
      }
    } else {
      await this.startServer(bins, account);
    }
    const startMs = reused ? 0 : performance.now() - t0;
    await this.ensureDatabase();
    this.timings = { initdbMs, startMs, reused };
  }

  private async binaries(): Promise<PostgresBinaries> {
    // An existing cluster runs on the major version that made it.
    const made = await fs.readFile(path.join(this.dataDir, 'PG_VERSION'), 'utf8').catch(() => undefined);
    return EmbeddedPostgres.findBinaries(this.options.postgresqlRoot, made ? Number(made.trim()) : undefined);
  }

  /** The uid/gid the server runs as: ourselves, or the system user when we are root. */
  private async account(): Promise<Account | undefined> {
    if (process.getuid?.() !== 0) return undefined;
    const name = this.options.systemUser ?? 'postgres';
    let line = await getent(name);
    if (line === undefined && this.options.createSystemUser !== false) {
      await execFileP('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name], {}, 'useradd');
      line = await getent(name);
    }
    if (line === undefined) {
      throw new NotSupportedError(`The embedded database runs as the system user "${name}", which does not exist`);
    }
    const entry = parsePasswdLine(line);
    return { uid: entry.uid, gid: entry.gid };
  }

  private async prepareDirs(account: Account | undefined): Promise<void> {
    const root = path.dirname(this.databaseDir);
    await fs.mkdir(root, { recursive: true, mode: 0o711 });
    if (account) await ensureTraversable(root, account);
    for (const d of [this.databaseDir, this.socketDir]) {
      await fs.mkdir(d, { recursive: true, mode: 0o700 });
      if (account) await fs.chown(d, account.uid, account.gid);
      await fs.chmod(d, 0o700);
    }
  }

  /** initdb into data.tmp, then rename: `data` exists only as a complete cluster. */
  private async initdb(bins: PostgresBinaries, account: Account | undefined): Promise<number> {
    const tmp = `${this.dataDir}.tmp`;
    await fs.rm(tmp, { recursive: true, force: true });
    const t0 = performance.now();
    await this.run(account, path.join(bins.binDir, 'initdb'), [
      '-D', tmp, '-U', this.user, '--auth-local=trust', '--auth-host=reject', '--encoding=UTF8', '--locale=C.UTF-8',
      '--no-instructions', '--no-sync',
    ], 'initdb');
    await fs.appendFile(
      path.join(tmp, 'postgresql.conf'),
      "\n# Lodge: settings that depend on the state directory are rewritten at every start\ninclude_if_exists = 'lodge.conf'\n",
    );
    // --no-sync skips initdb's per-file fsyncs; one syncfs of the file system gives the same durability.
    await this.run(account, 'sync', ['-f', tmp], 'sync');
    const ms = performance.now() - t0;
    await fs.rename(tmp, this.dataDir);
    return ms;
  }

  private async writeSettings(account: Account | undefined): Promise<void> {
    const file = path.join(this.dataDir, 'lodge.conf');
    const text = renderSettings({
      listen_addresses: '',
      unix_socket_directories: this.socketDir,
      unix_socket_permissions: '0700',
      port: this.port,
      logging_collector: 'off',
    });
    await fs.writeFile(file, text, { mode: 0o600 });
    if (account) await fs.chown(file, account.uid, account.gid);
  }

  /**
   * The live postmaster of our data directory, from postmaster.pid. (Not `pg_ctl status`: it
   * takes a killed postmaster that is a zombie not yet reaped for a running one.)
   */
  private async runningPostmaster(): Promise<{ pid: number; status: string } | undefined> {
    const text = await fs.readFile(path.join(this.dataDir, 'postmaster.pid'), 'utf8').catch(() => '');
    const st = parsePostmasterStatus(text);
    if (!st || !processIsRunning(st.pid)) return undefined;
    const cmdline = await fs.readFile(`/proc/${st.pid}/cmdline`, 'utf8').catch(() => '');
    return cmdline.includes('postgres') ? st : undefined; // else the PID was reused
  }

  /**
   * `pg_ctl start -W` (no wait), then poll postmaster.pid every 10 ms until the new postmaster
   * reports `ready` (pg_ctl's own wait polls every 100 ms). After a crash the old backends may
   * hold the shared memory a moment longer (they exit when they notice the postmaster is gone):
   * that start failure is retried until the timeout.
   */
  private async startServer(bins: PostgresBinaries, account: Account | undefined): Promise<void> {
    const deadline = Date.now() + this.timeoutSeconds * 1000;
    for (;;) {
      const stalePid = await this.pid();
      const logOffset = await fileSize(this.logFile);
      await this.run(account, path.join(bins.binDir, 'pg_ctl'), ['start', '-D', this.dataDir, '-l', this.logFile, '-W', '-s'], 'pg_ctl start');
      const failure = await this.waitReady(stalePid, logOffset, deadline);
      if (failure === undefined) return;
      if (/pre-existing shared memory block|lock file .* already exists/.test(failure) && Date.now() < deadline) {
        await sleep(100);
        continue;
      }
      throw new SystemError('start PostgreSQL', 'EFAILED', `${lastLines(failure, 5)} (see ${this.logFile})`);
    }
  }

  /** Undefined when ready; else the log text that tells why the server did not come up. */
  private async waitReady(stalePid: number | undefined, logOffset: number, deadline: number): Promise<string | undefined> {
    for (;;) {
      const text = await fs.readFile(path.join(this.dataDir, 'postmaster.pid'), 'utf8').catch(() => '');
      const st = parsePostmasterStatus(text);
      const fresh = st !== undefined && st.pid !== stalePid && processIsRunning(st.pid);
      if (fresh && st.status === 'ready') return undefined;
      const log = await readFrom(this.logFile, logOffset);
      // A live new postmaster is still coming up (a client's "FATAL: starting up" is no failure).
      if (!fresh && /(^|\s)(FATAL|PANIC):/m.test(log)) return log;
      if (Date.now() > deadline) return `timed out after ${this.timeoutSeconds} s waiting for the server to accept connections\n${log}`;
      await sleep(10);
    }
  }

  /** Creates the database on first start (also when a crash came between initdb and here). */
  private async ensureDatabase(): Promise<void> {
    const client = new Client({ host: this.socketDir, port: this.port, user: this.user, database: 'postgres' });
    await client.connect();
    try {
      const r = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [this.database]);
      if (r.rowCount === 0) await client.query(`CREATE DATABASE ${quoteIdent(this.database)}`);
    } finally {
      await client.end();
    }
  }

  private spawnOptions(account: Account | undefined) {
    return {
      cwd: this.databaseDir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' },
      ...(account ? { uid: account.uid, gid: account.gid } : {}),
    };
  }

  private async run(account: Account | undefined, file: string, args: string[], step: string): Promise<void> {
    await execFileP(file, args, this.spawnOptions(account), step);
  }
}

// ---- helpers (exported for unit tests) ----

/** The PID on the first line of postmaster.pid. */
export function parsePostmasterPid(text: string): number | undefined {
  const first = text.split('\n', 1)[0].trim();
  const pid = Number(first);
  return /^\d+$/.test(first) && pid > 0 ? pid : undefined;
}

/** PID and status ("starting", "ready", "stopping", "standby") from postmaster.pid (lines 1 and 8). */
export function parsePostmasterStatus(text: string): { pid: number; status: string } | undefined {
  const lines = text.split('\n');
  const pid = parsePostmasterPid(text);
  if (pid === undefined || lines.length < 8) return undefined;
  return { pid, status: lines[7].trim() };
}

/** A `getent passwd` / /etc/passwd line. */
export function parsePasswdLine(line: string): { name: string; uid: number; gid: number; home: string } {
  const f = line.trim().split(':');
  if (f.length < 7 || !/^\d+$/.test(f[2]) || !/^\d+$/.test(f[3])) throw new Error(`bad passwd entry: ${line}`);
  return { name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5] };
}

/** postgresql.conf lines; strings are single-quoted with quotes doubled. */
export function renderSettings(settings: Record<string, string | number>): string {
  return (
    Object.entries(settings)
      .map(([k, v]) => `${k} = ${typeof v === 'number' ? v : `'${v.replace(/'/g, "''")}'`}`)
      .join('\n') + '\n'
  );
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * The server's user must be able to walk down to `<dir>/database`. The state directory itself
 * gets o+x (traverse only, no listing) when it lacks it; an ancestor that blocks is an error.
 */
async function ensureTraversable(dir: string, account: Account): Promise<void> {
  const parts = path.resolve(dir).split(path.sep).filter(Boolean);
  for (let i = 0; i <= parts.length; i++) {
    const p = '/' + parts.slice(0, i).join('/');
    const st = await fs.stat(p);
    const can =
      (st.mode & 0o001) !== 0 ||
      (st.uid === account.uid && (st.mode & 0o100) !== 0) ||
      (st.gid === account.gid && (st.mode & 0o010) !== 0);
    if (can) continue;
    if (p === path.resolve(dir)) {
      await fs.chmod(p, (st.mode & 0o7777) | 0o001);
      continue;
    }
    throw new SystemError('access ' + p, 'EACCES', `the database user (uid ${account.uid}) cannot traverse it`);
  }
}

async function getent(name: string): Promise<string | undefined> {
  const r = await execFileP('getent', ['passwd', name], {}, 'getent passwd', [0, 2]);
  return r.code === 0 ? r.stdout.trim().split('\n')[0] : undefined;
}

function execFileP(
  file: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; uid?: number; gid?: number },
  step: string,
  okCodes = [0],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { ...opts, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
      if (okCodes.includes(code)) return resolve({ code, stdout, stderr });
      const errno = err && typeof (err as { code?: unknown }).code === 'string' ? String((err as { code: string }).code) : `exit ${code}`;
      reject(new SystemError(step, errno, (stderr || stdout || String(err?.message ?? '')).trim(), { cause: err }));
    });
  });
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}

async function isExecutable(p: string): Promise<boolean> {
  return fs.access(p, fsConstants.X_OK).then(
    () => true,
    () => false,
  );
}

async function fileSize(file: string): Promise<number> {
  return fs.stat(file).then(
    (st) => st.size,
    () => 0,
  );
}

/** The file's text from byte `offset` on ('' when missing). */
async function readFrom(file: string, offset: number): Promise<string> {
  try {
    const h = await fs.open(file, 'r');
    try {
      const { size } = await h.stat();
      if (size <= offset) return '';
      const buf = Buffer.alloc(size - offset);
      await h.read(buf, 0, buf.length, offset);
      return buf.toString('utf8');
    } finally {
      await h.close();
    }
  } catch {
    return '';
  }
}

/** Whether `pid` is a live process (a zombie waiting for its reaper is not). Linux /proc. */
export function processIsRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X' && state !== '';
  } catch {
    return false;
  }
}

function lastLines(text: string, n: number): string {
  return text.trim().split('\n').slice(-n).join(' | ');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
