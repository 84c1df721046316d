import { NotSupportedError } from '@lodge/common';
import {
  EmbeddedPostgres,
  parsePasswdLine,
  parsePostmasterPid,
  parsePostmasterStatus,
  processIsRunning,
  quoteIdent,
  renderSettings,
} from './embedded-postgres';

const PID_FILE = '4242\n/var/lib/lodge/database/data\n1764000000\n5432\n/var/lib/lodge/database/run\n\n  5432001  32768\nready   \n';

describe('embedded PostgreSQL helpers', () => {
  it('reads postmaster.pid', () => {
    expect(parsePostmasterPid(PID_FILE)).toBe(4242);
    expect(parsePostmasterStatus(PID_FILE)).toEqual({ pid: 4242, status: 'ready' });
    expect(parsePostmasterStatus('4242\n/data\n')).toBeUndefined(); // still being written
    expect(parsePostmasterPid('')).toBeUndefined();
    expect(parsePostmasterPid('-1\n')).toBeUndefined();
  });

  it('reads passwd entries', () => {
    expect(parsePasswdLine('postgres:x:101:104:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash\n')).toEqual({
      name: 'postgres',
      uid: 101,
      gid: 104,
      home: '/var/lib/postgresql',
    });
    expect(() => parsePasswdLine('garbage')).toThrow();
  });

  it('renders settings with quoting', () => {
    expect(renderSettings({ listen_addresses: '', unix_socket_directories: "/tmp/it's", port: 5432 })).toBe(
      "listen_addresses = ''\nunix_socket_directories = '/tmp/it''s'\nport = 5432\n",
    );
    expect(quoteIdent('we"ird')).toBe('"we""ird"');
  });

  it('knows live processes from gone ones', () => {
    expect(processIsRunning(process.pid)).toBe(true);
    expect(processIsRunning(2 ** 22 + 1)).toBe(false);
  });

  it('lays out the state directory and the socket URL', () => {
    const pg = new EmbeddedPostgres({ dir: '/var/lib/lodge' });
    expect(pg.dataDir).toBe('/var/lib/lodge/database/data');
    expect(pg.socketDir).toBe('/var/lib/lodge/database/run');
    expect(pg.url).toBe('postgres://lodge@%2Fvar%2Flib%2Flodge%2Fdatabase%2Frun/lodge');
  });

  it('says how to install the server when the binaries are missing', async () => {
    const err = await EmbeddedPostgres.findBinaries('/nonexistent-postgresql-root').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotSupportedError);
    expect((err as Error).message).toMatch(/apt-get install postgresql/);
  });
});
