import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { Logger } from 'typeorm';

/**
 * The PostgreSQL the tests use (trust auth): the machine's on 127.0.0.1:5432, or the private one
 * scripts/test.sh starts when there is none it can use (LODGE_TEST_PG_PORT).
 */
export const TEST_SERVER = { host: '127.0.0.1', port: Number(process.env.LODGE_TEST_PG_PORT || 5432), user: 'postgres', database: 'postgres' };

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** Creates a database `lodge_test_<pid>_<random>` on the test server; drop() removes it (FORCE). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `lodge_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  return {
    name,
    url: `postgres://${TEST_SERVER.user}@${TEST_SERVER.host}:${TEST_SERVER.port}/${name}`,
    drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

async function admin(sql: string): Promise<void> {
  const c = new Client(TEST_SERVER);
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** A TypeORM logger that records every query, to assert how many statements a call makes. */
export class QueryCounter implements Logger {
  queries: string[] = [];
  reset(): void {
    this.queries = [];
  }
  /** Statements other than transaction control. */
  get statements(): string[] {
    return this.queries.filter((q) => !/^(START TRANSACTION|BEGIN|COMMIT|ROLLBACK)/i.test(q.trim()));
  }
  logQuery(query: string): void {
    this.queries.push(query);
  }
  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
}

/** Awaits a rejection and checks its class and (optionally) its exact message. */
export async function expectError(p: Promise<unknown>, cls: abstract new (...args: never[]) => Error, message?: string): Promise<Error> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(cls);
  if (message !== undefined) expect((err as Error).message).toBe(message);
  return err as Error;
}
