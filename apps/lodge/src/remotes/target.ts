/**
 * `[remote:]name` arguments as `lxc` reads them: the part before the first colon names a remote
 * (instance, profile and image names never contain one); `remote:` alone is the remote itself.
 */
export interface Target {
  remote?: string;
  name: string;
}

export function parseTarget(arg: string): Target {
  const i = arg.indexOf(':');
  if (i <= 0) return { name: arg };
  return { remote: arg.slice(0, i), name: arg.slice(i + 1) };
}
