import type { ServerConfigRepository } from '@lodge/state';
import type { ServerConfigStore } from '../server/server-config.store';

/** The server config map in PostgreSQL (table server_config): it survives restarts. */
export class PgServerConfigStore implements ServerConfigStore {
  constructor(private readonly repo: ServerConfigRepository) {}

  load(): Promise<Record<string, string>> {
    return this.repo.getAll();
  }

  save(config: Record<string, string>): Promise<void> {
    return this.repo.replace(config);
  }
}
