import { Inject, Injectable } from '@nestjs/common';
import { etagHash, ServerConfig, sortedKeys } from '@lodge/api-types';
import { InvalidArgumentError } from '@lodge/common';
import { checkIfMatch } from '../http/etag';
import { SERVER_CONFIG_KEYS, verifyPassword } from './server-config.keys';
import { SERVER_CONFIG_STORE, ServerConfigStore } from './server-config.store';

/**
 * Makes a changed key real (core.https_address binds the HTTPS listener). Called with the new raw
 * value (undefined = unset) before the config is stored; throwing refuses the whole change (nothing
 * is stored, the error goes to the client). Returns an undo, run if a later step fails.
 */
export type ConfigApplier = (value: string | undefined) => Promise<() => Promise<void>>;

/** Server config (GET/PUT/PATCH /1.0 `config`): validation, hidden keys, ETag, serialized updates. */
@Injectable()
export class ServerConfigService {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly appliers = new Map<string, ConfigApplier>();

  constructor(@Inject(SERVER_CONFIG_STORE) private readonly store: ServerConfigStore) {}

  /** The config as GET /1.0 shows it (hidden keys as `true`), keys sorted. */
  async render(): Promise<ServerConfig> {
    return renderConfig(await this.store.load());
  }

  /** ETag of GET /1.0: the hash of the rendered config (a Go map: sorted keys). */
  async etag(): Promise<string> {
    return etagHash(await this.render());
  }

  /** PUT: the given map replaces the config. A hidden key given as `true` keeps its value. */
  replace(input: unknown, ifMatch: string | undefined): Promise<ServerConfig> {
    return this.serialized(async () => {
      const current = await this.store.load();
      checkIfMatch(ifMatch, renderConfig(current));
      const next = applyChanges(current, normalizeInput(input), true);
      await this.commit(current, next);
      return renderConfig(next);
    });
  }

  /** PATCH: the given keys are merged; "" or null unsets a key. */
  patch(input: unknown, ifMatch: string | undefined): Promise<ServerConfig> {
    return this.serialized(async () => {
      const current = await this.store.load();
      checkIfMatch(ifMatch, renderConfig(current));
      const next = applyChanges(current, normalizeInput(input), false);
      await this.commit(current, next);
      return renderConfig(next);
    });
  }

  /** Checks a trust password against core.trust_password (false when none is set). */
  async checkTrustPassword(password: string): Promise<boolean> {
    const stored = (await this.store.load())['core.trust_password'];
    return stored !== undefined && verifyPassword(password, stored);
  }

  /** The raw stored value of a key (hidden keys as stored). */
  async get(key: string): Promise<string | undefined> {
    return (await this.store.load())[key];
  }

  /** Registers the applier of a live key (one per key). */
  registerApplier(key: string, applier: ConfigApplier): void {
    if (this.appliers.has(key)) throw new Error(`config applier for ${key} already registered`);
    this.appliers.set(key, applier);
  }

  /** Applies changed live keys, then stores; on any failure the applied keys are undone. */
  private async commit(current: Record<string, string>, next: Record<string, string>): Promise<void> {
    const undos: Array<() => Promise<void>> = [];
    try {
      for (const [key, apply] of this.appliers) {
        if (current[key] !== next[key]) undos.push(await apply(next[key]));
      }
      await this.store.save(next);
    } catch (err) {
      for (const undo of undos.reverse()) await undo().catch(() => undefined);
      throw err;
    }
  }

  /** Runs `fn` in the queue of config updates (no PUT/PATCH interleaves with it). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.serialized(fn);
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

function renderConfig(raw: Record<string, string>): ServerConfig {
  const out: ServerConfig = {};
  for (const [k, v] of Object.entries(sortedKeys(raw))) out[k] = SERVER_CONFIG_KEYS[k]?.hidden ? true : v;
  return out;
}

type Change = string | null | { keep: true };

function normalizeInput(input: unknown): Record<string, Change> {
  if (input === null || input === undefined) return {};
  if (typeof input !== 'object' || Array.isArray(input)) throw new InvalidArgumentError('config must be a map of strings');
  const out: Record<string, Change> = {};
  for (const [key, value] of Object.entries(input as Record<string, unknown>)) {
    if (value === null) out[key] = null;
    else if (value === true && SERVER_CONFIG_KEYS[key]?.hidden) out[key] = { keep: true };
    else if (typeof value === 'string') out[key] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') out[key] = String(value);
    else throw new InvalidArgumentError(`cannot set '${key}': invalid type ${Array.isArray(value) ? 'array' : typeof value}`);
  }
  return out;
}

/** Validates every change (LXD's ErrorList wording) and returns the new raw map. */
function applyChanges(current: Record<string, string>, changes: Record<string, Change>, replace: boolean): Record<string, string> {
  const next: Record<string, string> = replace ? {} : { ...current };
  const errors: string[] = [];
  for (const key of Object.keys(changes).sort()) {
    const change = changes[key];
    const spec = SERVER_CONFIG_KEYS[key];
    const shown = change === null ? '' : typeof change === 'string' ? change : 'true';
    if (!spec) {
      errors.push(`cannot set '${key}' to '${shown}': unknown key`);
      continue;
    }
    if (typeof change === 'object' && change !== null) {
      if (current[key] !== undefined) next[key] = current[key];
      continue;
    }
    if (change === null || change === '') {
      delete next[key];
      continue;
    }
    const reason = spec.validate(change);
    if (reason) {
      errors.push(`cannot set '${key}' to '${spec.hidden ? '...' : change}': ${reason}`);
      continue;
    }
    next[key] = spec.store ? spec.store(change) : change;
  }
  if (errors.length === 1) throw new InvalidArgumentError(errors[0]);
  if (errors.length > 1) throw new InvalidArgumentError(`${errors[0]} (and ${errors.length - 1} more errors)`);
  return next;
}
