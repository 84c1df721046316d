/**
 * The wire shapes of /1.0/images (LXD 5.0's api.Image and api.ImageAliasesEntry): field order as
 * Go encodes the structs, Go's zero time for unset timestamps, and the ETag fields LXD hashes.
 */
import { sortedKeys } from '@lodge/api-types';
import type { ImageAliasEntity, ImageEntity } from '@lodge/state';

/** Go's zero time.Time as JSON: what LXD shows for "never" (expires_at, last_used_at). */
export const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

/** Profiles are not stored per image yet: every image applies `default`, as LXD's default is. */
export const IMAGE_PROFILES = ['default'];

export interface ApiImageAlias {
  name: string;
  description: string;
}

export interface ApiImage {
  auto_update: boolean;
  properties: Record<string, string>;
  public: boolean;
  expires_at: string;
  profiles: string[];
  aliases: ApiImageAlias[];
  architecture: string;
  cached: boolean;
  filename: string;
  fingerprint: string;
  size: number;
  type: 'container';
  created_at: string;
  last_used_at: string;
  uploaded_at: string;
}

export interface ApiImageAliasEntry {
  description: string;
  target: string;
  name: string;
  type: 'container';
}

export const imageUrl = (fingerprint: string) => `/1.0/images/${fingerprint}`;
export const aliasUrl = (name: string) => `/1.0/images/aliases/${name}`;

export function toApiImage(row: ImageEntity, aliases: readonly ImageAliasEntity[]): ApiImage {
  return {
    auto_update: row.autoUpdate,
    properties: sortedKeys(row.properties ?? {}),
    public: row.public,
    expires_at: time(row.expiresAt),
    profiles: [...IMAGE_PROFILES],
    aliases: aliases.map((a) => ({ name: a.name, description: a.description })),
    architecture: row.architecture,
    cached: row.cached,
    filename: row.filename,
    fingerprint: row.fingerprint,
    size: row.size,
    type: row.type,
    created_at: time(row.createdAt),
    last_used_at: time(row.lastUsedAt),
    uploaded_at: time(row.uploadedAt),
  };
}

/** LXD's image ETag covers public, auto_update and properties. */
export function imageEtagFields(row: Pick<ImageEntity, 'public' | 'autoUpdate' | 'properties'>): unknown {
  return [row.public, row.autoUpdate, sortedKeys(row.properties ?? {})];
}

export function toApiAlias(row: ImageAliasEntity): ApiImageAliasEntry {
  return { description: row.description, target: row.fingerprint, name: row.name, type: 'container' };
}

function time(d: Date | null | undefined): string {
  if (!d || d.getTime() <= 0) return GO_ZERO_TIME;
  return d.toISOString().replace('.000Z', 'Z');
}
