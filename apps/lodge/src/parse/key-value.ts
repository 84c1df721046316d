/** `-c key=value` and `config set key value|key=value` arguments. */
export function parseKeyValue(arg: string): [string, string] {
  const i = arg.indexOf('=');
  if (i <= 0) throw new Error(`Bad key=value pair: "${arg}"`);
  return [arg.slice(0, i), arg.slice(i + 1)];
}

export function parseKeyValues(args: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of args) {
    const [k, v] = parseKeyValue(a);
    out[k] = v;
  }
  return out;
}

/**
 * `config set` takes either `KEY VALUE` or one or more `KEY=VALUE` (lxc 5.0 accepts both):
 * with exactly two arguments and no `=` in the first, it is the pair form.
 */
export function parseSetArgs(args: readonly string[]): Record<string, string> {
  if (args.length === 0) throw new Error('Missing key to set');
  if (args.length === 2 && !args[0].includes('=')) return { [args[0]]: args[1] };
  return parseKeyValues(args);
}
