import { InvalidArgumentError, NotFoundError } from '@lodge/common';
import { Injectable } from '@nestjs/common';
import { withDbErrors } from '../db-errors';
import { ImageAliasEntity } from '../entities/image-alias.entity';
import { ImageEntity } from '../entities/image.entity';
import { defined, StateRepository } from './base.repository';

export interface CreateImageInput {
  fingerprint: string;
  filename?: string;
  size: number;
  architecture: string;
  public?: boolean;
  autoUpdate?: boolean;
  cached?: boolean;
  properties?: Record<string, string>;
  metadata?: Record<string, unknown>;
  createdAt?: Date;
  uploadedAt?: Date;
  expiresAt?: Date | null;
}

export interface ImagePatch {
  filename?: string;
  public?: boolean;
  autoUpdate?: boolean;
  cached?: boolean;
  properties?: Record<string, string>;
  metadata?: Record<string, unknown>;
  expiresAt?: Date | null;
  lastUsedAt?: Date | null;
}

export const IMAGE_NOT_FOUND = 'Image not found';
export const IMAGE_EXISTS = 'Image with same fingerprint already exists';
export const ALIAS_NOT_FOUND = 'Image alias not found';
export const ALIAS_EXISTS = 'Alias already exists';

@Injectable()
export class ImagesRepository extends StateRepository {
  async create(input: CreateImageInput): Promise<ImageEntity> {
    const res = await withDbErrors(
      () =>
        this.manager
          .createQueryBuilder()
          .insert()
          .into(ImageEntity)
          .values(defined(input))
          .returning('*')
          .updateEntity(false)
          .execute(),
      IMAGE_EXISTS,
    );
    return this.hydrate(ImageEntity, this.rowsOf(res))[0];
  }

  /** By full fingerprint. */
  async get(fingerprint: string): Promise<ImageEntity> {
    const row = await this.manager.findOne(ImageEntity, { where: { fingerprint } });
    if (!row) throw new NotFoundError(IMAGE_NOT_FOUND);
    return row;
  }

  /** By a unique fingerprint prefix, as LXD accepts (`lxc image info 3f2a`). */
  async getByPrefix(prefix: string): Promise<ImageEntity> {
    if (!/^[0-9a-f]{1,64}$/.test(prefix)) throw new NotFoundError(IMAGE_NOT_FOUND);
    const rows: Record<string, unknown>[] = await this.query(
      `SELECT * FROM images WHERE fingerprint LIKE $1 || '%' ORDER BY fingerprint LIMIT 2`,
      [prefix],
    );
    if (rows.length === 0) throw new NotFoundError(IMAGE_NOT_FOUND);
    if (rows.length > 1) throw new InvalidArgumentError('More than one image matches');
    return this.hydrate(ImageEntity, rows)[0];
  }

  list(): Promise<ImageEntity[]> {
    return this.manager.find(ImageEntity, { order: { fingerprint: 'ASC' } });
  }

  async update(fingerprint: string, patch: ImagePatch): Promise<ImageEntity> {
    const set = defined(patch);
    if (Object.keys(set).length === 0) return this.get(fingerprint);
    const res = await this.manager
      .createQueryBuilder()
      .update(ImageEntity)
      .set(set)
      .where('fingerprint = :fingerprint', { fingerprint })
      .returning('*')
      .updateEntity(false)
      .execute();
    const [row] = this.hydrate(ImageEntity, this.rowsOf(res));
    if (!row) throw new NotFoundError(IMAGE_NOT_FOUND);
    return row;
  }

  /** Deletes an image and (ON DELETE CASCADE) its aliases. */
  async delete(fingerprint: string): Promise<void> {
    const rows: unknown[] = await this.query('DELETE FROM images WHERE fingerprint = $1 RETURNING id', [
      fingerprint,
    ]);
    if (rows.length === 0) throw new NotFoundError(IMAGE_NOT_FOUND);
  }

  /** Cached images whose expiry has passed. */
  listExpired(now = new Date()): Promise<ImageEntity[]> {
    return this.manager
      .createQueryBuilder(ImageEntity, 'i')
      .where('i.cached AND i.expires_at IS NOT NULL AND i.expires_at <= :now', { now })
      .orderBy('i.fingerprint')
      .getMany();
  }

  // ---- aliases ----

  /** NotFoundError `Image not found` when the target image does not exist. */
  async createAlias(input: { name: string; fingerprint: string; description?: string; project?: string }): Promise<ImageAliasEntity> {
    const res = await withDbErrors(
      () =>
        this.manager
          .createQueryBuilder()
          .insert()
          .into(ImageAliasEntity)
          .values(defined({ project: 'default', ...input }))
          .returning('*')
          .updateEntity(false)
          .execute(),
      ALIAS_EXISTS,
    );
    return this.hydrate(ImageAliasEntity, this.rowsOf(res))[0];
  }

  async getAlias(name: string, project = 'default'): Promise<ImageAliasEntity> {
    const row = await this.manager.findOne(ImageAliasEntity, { where: { project, name } });
    if (!row) throw new NotFoundError(ALIAS_NOT_FOUND);
    return row;
  }

  listAliases(project = 'default'): Promise<ImageAliasEntity[]> {
    return this.manager.find(ImageAliasEntity, { where: { project }, order: { name: 'ASC' } });
  }

  /** The aliases pointing at an image (for `GET /1.0/images/<fp>` `aliases`). */
  aliasesOf(fingerprint: string, project = 'default'): Promise<ImageAliasEntity[]> {
    return this.manager.find(ImageAliasEntity, { where: { project, fingerprint }, order: { name: 'ASC' } });
  }

  async updateAlias(name: string, patch: { fingerprint?: string; description?: string }, project = 'default'): Promise<ImageAliasEntity> {
    const set = defined(patch);
    if (Object.keys(set).length === 0) return this.getAlias(name, project);
    const res = await withDbErrors(() =>
      this.manager
        .createQueryBuilder()
        .update(ImageAliasEntity)
        .set(set)
        .where('project = :project AND name = :name', { project, name })
        .returning('*')
        .updateEntity(false)
        .execute(),
    );
    const [row] = this.hydrate(ImageAliasEntity, this.rowsOf(res));
    if (!row) throw new NotFoundError(ALIAS_NOT_FOUND);
    return row;
  }

  async renameAlias(name: string, newName: string, project = 'default'): Promise<ImageAliasEntity> {
    const rows: Record<string, unknown>[] = await withDbErrors(
      () =>
        this.query('UPDATE image_aliases SET name = $3 WHERE project = $1 AND name = $2 RETURNING *', [
          project,
          name,
          newName,
        ]),
      ALIAS_EXISTS,
    );
    const [row] = this.hydrate(ImageAliasEntity, rows);
    if (!row) throw new NotFoundError(ALIAS_NOT_FOUND);
    return row;
  }

  async deleteAlias(name: string, project = 'default'): Promise<void> {
    const rows: unknown[] = await this.query(
      'DELETE FROM image_aliases WHERE project = $1 AND name = $2 RETURNING id',
      [project, name],
    );
    if (rows.length === 0) throw new NotFoundError(ALIAS_NOT_FOUND);
  }
}
