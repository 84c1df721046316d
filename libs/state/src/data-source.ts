import { DataSource, Logger } from 'typeorm';
import { MIGRATIONS } from '../../../migrations';
import { parseDatabaseUrl } from './database-url';
import { STATE_ENTITIES } from './entities';

export interface StateDataSourceOptions {
  /** See parseDatabaseUrl for the accepted forms. */
  url: string;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** Receives every query (e.g. a counter in tests, or debug logging). */
  logger?: Logger;
  /** `application_name` seen in pg_stat_activity (default `lodge`). */
  applicationName?: string;
}

/**
 * A TypeORM DataSource for Lodge's state: every entity and migration, never `synchronize`
 * (the schema changes only through migrations/). Call `initialize()` then `runMigrations()`,
 * or use `openStateDataSource`.
 */
export function createStateDataSource(options: StateDataSourceOptions): DataSource {
  const c = parseDatabaseUrl(options.url);
  return new DataSource({
    type: 'postgres',
    host: c.host,
    port: c.port,
    username: c.user,
    password: c.password,
    database: c.database,
    ssl: c.ssl,
    applicationName: options.applicationName ?? 'lodge',
    poolSize: options.poolSize ?? 10,
    entities: STATE_ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    migrationsRun: false,
    logger: options.logger,
    logging: options.logger ? 'all' : false,
  });
}

/** Creates, connects and migrates a state DataSource (all pending migrations, each in a transaction). */
export async function openStateDataSource(options: StateDataSourceOptions): Promise<DataSource> {
  const ds = createStateDataSource(options);
  await ds.initialize();
  try {
    await ds.runMigrations({ transaction: 'each' });
  } catch (err) {
    await ds.destroy().catch(() => undefined);
    throw err;
  }
  return ds;
}
