/**
 * POST /1.0/instances/{name}/exec bodies (LXD's api.InstanceExecPost) and the environment and
 * working directory LXD 5.0 gives the command.
 */
import { InvalidArgumentError } from '@lodge/common';

export interface ExecRequest {
  command: string[];
  environment: Record<string, string>;
  interactive: boolean;
  waitForWebsocket: boolean;
  recordOutput: boolean;
  width: number;
  height: number;
  user: number;
  group: number;
  cwd: string;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const MAX_ID = 0xfffffffe;
const MAX_WINDOW = 65535;

export function parseExecRequest(body: unknown): ExecRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidArgumentError('Invalid request body: expected a JSON object');
  const b = body as Record<string, unknown>;
  const command = b.command;
  if (!Array.isArray(command) || command.length === 0 || command.some((a) => typeof a !== 'string')) {
    throw new InvalidArgumentError('Invalid command: expected a non-empty list of strings');
  }
  if (command.some((a: string) => a.includes('\0'))) throw new InvalidArgumentError('Invalid command: arguments cannot contain NUL bytes');
  const req: ExecRequest = {
    command: command as string[],
    environment: environment(b.environment),
    interactive: flag(b, 'interactive'),
    waitForWebsocket: flag(b, 'wait-for-websocket'),
    recordOutput: flag(b, 'record-output'),
    width: int(b, 'width', MAX_WINDOW),
    height: int(b, 'height', MAX_WINDOW),
    user: int(b, 'user', MAX_ID),
    group: int(b, 'group', MAX_ID),
    cwd: b.cwd === undefined || b.cwd === null ? '' : String(b.cwd),
  };
  if (typeof b.cwd !== 'string' && b.cwd !== undefined && b.cwd !== null) throw new InvalidArgumentError('Invalid cwd: expected a string');
  if (req.cwd.includes('\0')) throw new InvalidArgumentError('Invalid cwd');
  if (req.recordOutput && req.waitForWebsocket) throw new InvalidArgumentError('Cannot use "record-output" with "wait-for-websocket"');
  if (req.recordOutput && req.interactive) throw new InvalidArgumentError('Cannot use "record-output" with "interactive"');
  return req;
}

/**
 * The command's environment: the instance's environment.* keys, then the request's, then LXD's
 * defaults for what neither gave (PATH; HOME and USER for root; LANG).
 */
export function execEnvironment(expandedConfig: Record<string, string>, req: Pick<ExecRequest, 'environment' | 'user'>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(expandedConfig)) {
    if (k.startsWith('environment.')) env[k.slice('environment.'.length)] = v;
  }
  Object.assign(env, req.environment);
  env.PATH ??= DEFAULT_PATH;
  if (req.user === 0) {
    env.HOME ??= '/root';
    env.USER ??= 'root';
  }
  env.LANG ??= 'C.UTF-8';
  return env;
}

/** LXD's default working directory: the request's, else $HOME, else /. */
export function execCwd(req: Pick<ExecRequest, 'cwd'>, env: Record<string, string>): string {
  return req.cwd || env.HOME || '/';
}

function environment(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new InvalidArgumentError('Invalid environment: expected an object of strings');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== 'string') throw new InvalidArgumentError(`Invalid environment variable "${k}": expected a string value`);
    if (k === '' || k.includes('=') || k.includes('\0') || v.includes('\0')) throw new InvalidArgumentError(`Invalid environment variable "${k}"`);
    out[k] = v;
  }
  return out;
}

function flag(b: Record<string, unknown>, key: string): boolean {
  const v = b[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new InvalidArgumentError(`Invalid "${key}": expected a boolean`);
  return v;
}

function int(b: Record<string, unknown>, key: string, max: number): number {
  const v = b[key];
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw new InvalidArgumentError(`Invalid "${key}": expected an integer in 0..${max}`);
  return v;
}
