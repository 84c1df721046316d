/**
 * Where the daemon's state lives: an external PostgreSQL (--database-url / LODGE_DATABASE_URL)
 * or, by default, a private PostgreSQL the daemon runs itself under <dir>/database.
 */
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { EmbeddedPostgres, openStateDataSource } from '@lodge/state';

export interface Database {
  dataSource: DataSource;
  /** how it was reached, for the log: "external" or "embedded (<dir>)" */
  description: string;
  /** Closes the pool and, for the embedded server, stops it. */
  close(): Promise<void>;
}

export async function openDatabase(o: { dir: string; url?: string }): Promise<Database> {
  let embedded: EmbeddedPostgres | undefined;
  let url = o.url;
  if (!url) {
    embedded = new EmbeddedPostgres({ dir: o.dir });
    await embedded.start();
    url = embedded.url;
  }
  let dataSource: DataSource;
  try {
    dataSource = await openStateDataSource({ url });
  } catch (err) {
    await embedded?.stop().catch(() => undefined);
    throw err;
  }
  return {
    dataSource,
    description: embedded ? `embedded (${join(o.dir, 'database')})` : 'external',
    async close() {
      await dataSource.destroy().catch(() => undefined);
      await embedded?.stop();
    },
  };
}
