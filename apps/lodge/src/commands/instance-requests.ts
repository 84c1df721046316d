/**
 * Request bodies and helpers shared by the instance commands, kept free of I/O so they can be
 * unit-tested: the create body of `launch`/`init`, the state body of start/stop/restart/pause.
 */
import { parseKeyValues } from '../parse/key-value';

export const instancePath = (name: string) => `/1.0/instances/${encodeURIComponent(name)}`;

export interface CreateFlags {
  config: string[];
  profile: string[];
  ephemeral?: boolean;
}

export interface ImageSource {
  type: 'image';
  alias?: string;
  fingerprint?: string;
}

/** POST /1.0/instances for `init IMAGE [NAME]`; profiles are sent only when given (the server applies `default`). */
export function createBody(name: string | undefined, source: ImageSource, f: CreateFlags): Record<string, unknown> {
  return {
    ...(name ? { name } : {}),
    type: 'container',
    source,
    config: parseKeyValues(f.config),
    devices: {},
    ephemeral: !!f.ephemeral,
    ...(f.profile.length ? { profiles: f.profile } : {}),
  };
}

export type StateAction = 'start' | 'stop' | 'restart' | 'freeze' | 'unfreeze';

/** PUT /1.0/instances/{name}/state; timeout -1 waits as long as it takes, as lxc sends by default. */
export function stateBody(action: StateAction, o: { force?: boolean; timeout?: number } = {}): Record<string, unknown> {
  return { action, timeout: o.timeout ?? -1, force: !!o.force, stateful: false };
}

/** `--timeout` as an integer number of seconds. */
export function parseTimeout(v: string): number {
  if (!/^-?\d+$/.test(v)) throw new Error(`Invalid timeout "${v}": expected seconds`);
  return Number(v);
}

/** Collect a repeatable option's values (`-c a=1 -c b=2`). */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
