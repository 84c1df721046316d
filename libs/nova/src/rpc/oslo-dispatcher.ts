import { isObject } from '../oslo/envelope';
import { versionIsCompatible } from '../oslo/versions';
import { noSuchMethod, PythonAttributeError, PythonTypeError, unsupportedVersion } from '../errors/remote-failure';

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
 *
 * The checks run in oslo's order, so a malformed message fails with the error Python raises
 * first: the version is parsed only for an endpoint of the right namespace (`'int' object has no
 * attribute 'split'`), the method name is looked up only on a compatible endpoint (`hasattr()`
 * with a non-string: TypeError), and a JSON null version matches nothing (UnsupportedVersion).
 */
export function resolveBinding<H>(
  targets: readonly OsloTarget[],
  bindings: readonly OsloMethodBinding<H>[],
  req: DispatchRequest,
): { binding: OsloMethodBinding<H>; args: Record<string, unknown> } {
  const namespace = req.namespace === undefined ? null : req.namespace;
  const version = req.version === undefined ? '1.0' : req.version;
  let compatible = false;
  for (const target of targets) {
    if (target.namespace !== namespace) continue;
    if (version !== null && typeof version !== 'string') throw new PythonAttributeError(`'${typeName(version)}' object has no attribute 'split'`);
    if (!versionIsCompatible(target.version, version)) continue;
    if (typeof req.method !== 'string') throw new PythonTypeError(`attribute name must be string, not '${typeName(req.method)}'`);
    const binding = bindings.find((b) => b.target === target && b.method === req.method);
    if (binding) return { binding, args: checkArgs(binding, req.args) };
    compatible = true;
  }
  throw compatible ? noSuchMethod(req.method) : unsupportedVersion(pythonStr(version), req.method ? pythonStr(req.method) : undefined);
}

function checkArgs(binding: OsloMethodBinding<unknown>, raw: unknown): Record<string, unknown> {
  const args = raw === undefined ? {} : raw;
  // oslo walks `args.items()` before calling the method
  if (!isObject(args)) throw new PythonAttributeError(`'${typeName(args)}' object has no attribute 'items'`);
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

/** How `%s` shows a JSON value in Python (None, True, 5, a str as is). */
function pythonStr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Python's type name of a JSON value. */
function typeName(v: unknown): string {
  if (v === null || v === undefined) return 'NoneType';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'object') return 'dict';
  return typeof v === 'string' ? 'str' : typeof v === 'number' ? (Number.isInteger(v) ? 'int' : 'float') : typeof v;
}
