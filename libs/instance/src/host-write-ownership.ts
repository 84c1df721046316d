/**
 * The daemon writes into a stopped instance (image templates) through a host mount of its
 * overlay, as host root. Overlayfs then copies the parent directories up into the instance's
 * upper layer with the image's unshifted owners (0 for /etc), and the new files are the
 * writer's. The running container sees its upper layer unmapped, so those entries would read as
 * owned by nobody: this gives every entry the daemon's write touched the host ids the
 * container's id map gives their owner.
 */
import { lchownSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import type { IdMapEntry } from '@lodge/runtime';

/** Host id of container id `id` through `map`; undefined when the map does not cover it. */
export function toHostId(id: number, map: readonly IdMapEntry[]): number | undefined {
  for (const e of map) if (id >= e.inside && id < e.inside + e.count) return e.outside + (id - e.inside);
  return undefined;
}

function isMappedHostId(id: number, map: readonly IdMapEntry[]): boolean {
  return map.some((e) => id >= e.outside && id < e.outside + e.count);
}

/**
 * For each container path written (e.g. "/etc/hostname"), the entry and its ancestors in
 * `upper` whose owner is not yet a host id of the map are chowned to the mapped ids.
 */
export function shiftHostWrites(upper: string, containerPaths: readonly string[], uidMap: readonly IdMapEntry[], gidMap: readonly IdMapEntry[]): void {
  const done = new Set<string>();
  for (const path of containerPaths) {
    const parts = path.split('/').filter((p) => p !== '' && p !== '.' && p !== '..');
    for (let i = 1; i <= parts.length; i++) {
      const entry = join(upper, ...parts.slice(0, i));
      if (done.has(entry)) continue;
      done.add(entry);
      let st;
      try {
        st = lstatSync(entry);
      } catch {
        continue; // not in the upper layer: still the image's, seen through the idmapped lower
      }
      const uid = isMappedHostId(st.uid, uidMap) ? st.uid : toHostId(st.uid, uidMap);
      const gid = isMappedHostId(st.gid, gidMap) ? st.gid : toHostId(st.gid, gidMap);
      if (uid === undefined || gid === undefined || (uid === st.uid && gid === st.gid)) continue;
      // lchown clears set-id bits of files; entries here are directories and template outputs
      lchownSync(entry, uid, gid);
    }
  }
}
