export * from './data-source';
export * from './database-url';
export * from './db-errors';
export * from './embedded/embedded-postgres';
export * from './entities';
export * from './repositories';
export * from './state.module';
