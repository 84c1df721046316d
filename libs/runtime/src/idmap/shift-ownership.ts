/**
 * The fallback for filesystems without idmapped mounts: shift every owner in a rootfs once into
 * the container's host range, and record that it was done (a marker next to the rootfs), so a
 * second start does not shift again. Set-id bits survive (chown clears them, they are restored).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { lstat, chmod, lchown, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '@lodge/common';
import { IdMapEntry, formatIdMap, hostId } from './idmap';

export function shiftMarkerPath(rootfs: string): string {
  return `${rootfs.replace(/\/+$/, '')}.lodge-shift`;
}

export async function shiftOwnership(rootfs: string, uidMap: IdMapEntry[], gidMap: IdMapEntry[]): Promise<void> {
  const marker = shiftMarkerPath(rootfs);
  const wanted = `uid\n${formatIdMap(uidMap)}gid\n${formatIdMap(gidMap)}`;
  if (existsSync(marker)) {
    if (readFileSync(marker, 'utf8') === wanted) return;
    throw new InvalidArgumentError(`rootfs "${rootfs}" was already shifted to a different id map (${marker})`);
  }
  const walk = async (path: string): Promise<void> => {
    const st = await lstat(path);
    const uid = hostId(uidMap, st.uid);
    const gid = hostId(gidMap, st.gid);
    if (uid === undefined || gid === undefined) {
      throw new InvalidArgumentError(`${path} is owned by ${st.uid}:${st.gid}, outside the container's id map`);
    }
    await lchown(path, uid, gid);
    if (!st.isSymbolicLink() && st.mode & 0o6000) await chmod(path, st.mode & 0o7777);
    if (st.isDirectory()) {
      for (const entry of await readdir(path)) await walk(join(path, entry));
    }
  };
  await walk(rootfs);
  writeFileSync(marker, wanted);
}
