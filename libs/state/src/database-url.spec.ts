import { InvalidArgumentError } from '@lodge/common';
import { parseDatabaseUrl, socketDatabaseUrl } from './database-url';

describe('parseDatabaseUrl', () => {
  it('reads a TCP URL', () => {
    expect(parseDatabaseUrl('postgres://lodge:s%3Acret@db.example:6543/lodge')).toEqual({
      host: 'db.example',
      port: 6543,
      user: 'lodge',
      password: 's:cret',
      database: 'lodge',
    });
    expect(parseDatabaseUrl('postgresql://u@[::1]/d')).toEqual({ host: '::1', port: 5432, user: 'u', database: 'd' });
  });

  it('reads the socket directory forms', () => {
    const want = { host: '/var/lib/lodge/database/run', port: 5432, user: 'lodge', database: 'lodge' };
    expect(parseDatabaseUrl('postgres://lodge@%2Fvar%2Flib%2Flodge%2Fdatabase%2Frun/lodge')).toEqual(want);
    expect(parseDatabaseUrl('postgres:///lodge?host=/var/lib/lodge/database/run&user=lodge')).toEqual(want);
    expect(parseDatabaseUrl('socket:/var/lib/lodge/database/run?db=lodge&user=lodge')).toEqual(want);
    expect(parseDatabaseUrl('/var/lib/lodge/database/run/')).toEqual(want);
  });

  it('round-trips what socketDatabaseUrl makes', () => {
    const url = socketDatabaseUrl('/tmp/a dir/run', 'lodge', 'lodge');
    expect(parseDatabaseUrl(url)).toEqual({ host: '/tmp/a dir/run', port: 5432, user: 'lodge', database: 'lodge' });
  });

  it('maps sslmode', () => {
    expect(parseDatabaseUrl('postgres://h/d?sslmode=require').ssl).toEqual({ rejectUnauthorized: false });
    expect(parseDatabaseUrl('postgres://h/d?sslmode=verify-full').ssl).toBe(true);
    expect(parseDatabaseUrl('postgres://h/d?sslmode=disable').ssl).toBeUndefined();
  });

  it.each([
    ['mysql://h/d', /unsupported scheme/],
    ['postgres://h', /no database/],
    ['postgres:///d', /no host/],
    ['postgres://h:0/d', /bad port/],
    ['relative/path', /not a URL/],
    ['postgres://h/d?sslmode=maybe', /sslmode/],
  ])('rejects %s', (url, why) => {
    expect(() => parseDatabaseUrl(url)).toThrow(InvalidArgumentError);
    expect(() => parseDatabaseUrl(url)).toThrow(why);
  });
});
