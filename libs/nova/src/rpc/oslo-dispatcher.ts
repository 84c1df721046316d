import { isObject } from '../oslo/envelope';
import { versionIsCompatible } from '../oslo/versions';
import { noSuchMethod, PythonTypeError, unsupportedVersion } from '../errors/remote-failure';

/** An RPC endpoint's target, as oslo's `Target(namespace=…, version=…)`. */
export interface OsloTarget {
  namespace: string | null;
  version: string;
}

/** The keyword arguments a method takes, so a call that does not fit fails as Python would. */
export interface OsloArgSpec {
  required: readonly string[];
  optional?: readonly string[];
}

export interface OsloMethodBinding<H> {
  target: OsloTarget;
  method: string;
  args: OsloArgSpec;
  handler: H;
}

export interface DispatchRequest {
  method: unknown;
  namespace: unknown;
  version: unknown;
  args: unknown;
}

/**
 * oslo's dispatch rule: the first endpoint whose namespace equals the message's and whose version
 * is compatible and that has the method serves it. If a compatible endpoint exists but none has
 * the method: NoSuchMethod; if none is compatible: UnsupportedVersion. A message without a
 * version asks for 1.0. Then the arguments are matched to the method's keywords.
 */
export function resolveBinding<H>(
  targets: readonly OsloTarget[],
  bindings: readonly OsloMethodBinding<H>[],
  req: DispatchRequest,
): { binding: OsloMethodBinding<H>; args: Record<string, unknown> } {
  const namespace = req.namespace === undefined ? null : req.namespace;
  const version = req.version === undefined ? '1.0' : req.version;
  if (typeof req.method !== 'string') throw new PythonTypeError('attribute name must be string');
  if (typeof version !== 'string') throw new PythonTypeError(`'${typeof version}' object has no attribute 'split'`);
  let compatible = false;
  for (const target of targets) {
    if (target.namespace !== namespace) continue;
    if (!versionIsCompatible(target.version, version)) continue;
    const binding = bindings.find((b) => b.target === target && b.method === req.method);
    if (binding) return { binding, args: checkArgs(binding, req.args) };
    compatible = true;
  }
  throw compatible ? noSuchMethod(req.method) : unsupportedVersion(version, req.method);
}

function checkArgs(binding: OsloMethodBinding<unknown>, raw: unknown): Record<string, unknown> {
  const args = raw === undefined ? {} : raw;
  if (!isObject(args)) throw new PythonTypeError(`${binding.method}() argument after ** must be a mapping, not ${typeName(args)}`);
  const known = new Set([...binding.args.required, ...(binding.args.optional ?? [])]);
  for (const k of Object.keys(args)) {
    if (!known.has(k)) throw new PythonTypeError(`${binding.method}() got an unexpected keyword argument '${k}'`);
  }
  const missing = binding.args.required.filter((k) => !(k in args));
  if (missing.length) {
    const names = missing.map((m) => `'${m}'`).join(' and ');
    throw new PythonTypeError(`${binding.method}() missing ${missing.length} required positional argument${missing.length > 1 ? 's' : ''}: ${names}`);
  }
  return args;
}

function typeName(v: unknown): string {
  if (v === null) return 'NoneType';
  if (Array.isArray(v)) return 'list';
  return typeof v === 'string' ? 'str' : typeof v === 'number' ? (Number.isInteger(v) ? 'int' : 'float') : typeof v;
}
