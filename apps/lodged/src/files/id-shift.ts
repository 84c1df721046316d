/**
 * Owners as the instance sees them vs. as stored on the host. Clients send and receive container
 * ids (X-LXD-uid 0 = the instance's root); the host stores the ids of the instance's id map.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '@lodge/common';
import type { IdMapEntry } from '@lodge/runtime';

export class IdShift {
  constructor(
    private readonly uids: IdMapEntry[],
    private readonly gids: IdMapEntry[],
    /**
     * What a host id outside the map means. A stopped instance's volume shows its image layer
     * unshifted (the runtime shifts it with an idmapped mount at start), so there an unmapped id
     * is already the container's; a running instance shows everything shifted and an unmapped id
     * is what the kernel calls the overflow id.
     */
    private readonly unmapped: 'as-is' | 'overflow',
  ) {}

  /** No user namespace: container ids are host ids. */
  static identity(): IdShift {
    const all = [{ inside: 0, outside: 0, count: 0xffffffff }];
    return new IdShift(all, all, 'as-is');
  }

  /** The maps of a running process (/proc/<pid>/uid_map and gid_map): exactly what the kernel applies. */
  static ofProcess(pid: number): IdShift {
    return new IdShift(parseIdMap(readFileSync(`/proc/${pid}/uid_map`, 'utf8')), parseIdMap(readFileSync(`/proc/${pid}/gid_map`, 'utf8')), 'overflow');
  }

  /** The host owner an entry should have for the owner it shows (differs for an unshifted image-layer entry). */
  shiftedOwner(uid: number, gid: number): { uid: number; gid: number } {
    return { uid: this.uidToHost(this.uidToContainer(uid)), gid: this.gidToHost(this.gidToContainer(gid)) };
  }

  uidToHost(uid: number): number {
    return toHost(this.uids, uid, 'uid');
  }

  gidToHost(gid: number): number {
    return toHost(this.gids, gid, 'gid');
  }

  uidToContainer(uid: number): number {
    return toContainer(this.uids, uid) ?? (this.unmapped === 'as-is' ? uid : OVERFLOW_ID);
  }

  gidToContainer(gid: number): number {
    return toContainer(this.gids, gid) ?? (this.unmapped === 'as-is' ? gid : OVERFLOW_ID);
  }
}

/** The kernel's default overflowuid/overflowgid ("nobody"). */
const OVERFLOW_ID = 65534;

export function parseIdMap(text: string): IdMapEntry[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((l) => {
      const [inside, outside, count] = l.split(/\s+/).map(Number);
      return { inside, outside, count };
    });
}

function toHost(map: IdMapEntry[], id: number, what: string): number {
  const e = map.find((m) => id >= m.inside && id - m.inside < m.count);
  if (!e) throw new InvalidArgumentError(`Invalid ${what} ${id}: not mapped in the instance`);
  return e.outside + (id - e.inside);
}

function toContainer(map: IdMapEntry[], id: number): number | undefined {
  const e = map.find((m) => id >= m.outside && id - m.outside < m.count);
  return e ? e.inside + (id - e.outside) : undefined;
}
