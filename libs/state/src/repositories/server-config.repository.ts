import { Injectable } from '@nestjs/common';
import { StateRepository } from './base.repository';

/** The server's config map (`GET/PUT/PATCH /1.0` `config`). */
@Injectable()
export class ServerConfigRepository extends StateRepository {
  /** Every key, as a map. */
  async getAll(): Promise<Record<string, string>> {
    const rows: Array<{ key: string; value: string }> = await this.query(
      'SELECT key, value FROM server_config ORDER BY key',
    );
    return Object.fromEntries(rows.map((r) => [r.key, r.value]));
  }

  /** One key's value, or undefined when it is unset. */
  async get(key: string): Promise<string | undefined> {
    const rows: Array<{ value: string }> = await this.query('SELECT value FROM server_config WHERE key = $1', [
      key,
    ]);
    return rows[0]?.value;
  }

  /**
   * PATCH semantics: sets keys with a string value and unsets keys given null or '' (LXD unsets a
   * key set to the empty string). One statement.
   */
  async set(changes: Record<string, string | null>): Promise<void> {
    const setKeys: string[] = [];
    const setValues: string[] = [];
    const unset: string[] = [];
    for (const [k, v] of Object.entries(changes)) {
      if (v === null || v === '') unset.push(k);
      else {
        setKeys.push(k);
        setValues.push(v);
      }
    }
    if (setKeys.length === 0 && unset.length === 0) return;
    await this.query(
      `WITH del AS (DELETE FROM server_config WHERE key = ANY($3::text[]))
       INSERT INTO server_config (key, value)
       SELECT * FROM unnest($1::text[], $2::text[])
       ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      [setKeys, setValues, unset],
    );
  }

  async unset(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.query('DELETE FROM server_config WHERE key = ANY($1::text[])', [keys]);
  }

  /** PUT semantics: the config becomes exactly `config` (empty values are left out). One statement. */
  async replace(config: Record<string, string>): Promise<void> {
    const entries = Object.entries(config).filter(([, v]) => v !== '');
    await this.query(
      `WITH del AS (DELETE FROM server_config WHERE NOT (key = ANY($1::text[])))
       INSERT INTO server_config (key, value)
       SELECT * FROM unnest($1::text[], $2::text[])
       ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      [entries.map(([k]) => k), entries.map(([, v]) => v)],
    );
  }
}
