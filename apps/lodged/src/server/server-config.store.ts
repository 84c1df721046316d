/**
 * Persistence of the server config map (`GET /1.0` config). The PostgreSQL-backed store comes with
 * libs/state; until then the daemon uses InMemoryServerConfigStore. Values are stored raw
 * (core.trust_password as its hash).
 */
export interface ServerConfigStore {
  load(): Promise<Record<string, string>>;
  save(config: Record<string, string>): Promise<void>;
}

export const SERVER_CONFIG_STORE = Symbol('SERVER_CONFIG_STORE');

/** Keeps the config in process memory only: it is lost when the daemon stops. */
export class InMemoryServerConfigStore implements ServerConfigStore {
  private config: Record<string, string>;

  constructor(initial: Record<string, string> = {}) {
    this.config = { ...initial };
  }

  async load(): Promise<Record<string, string>> {
    return { ...this.config };
  }

  async save(config: Record<string, string>): Promise<void> {
    this.config = { ...config };
  }
}
