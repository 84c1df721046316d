/**
 * The image use cases every transport calls: import (receive and check, then commit: files, pool
 * volume and the database row that lists the image) and delete (refused while instances are built
 * on the image's volume). The store (ImageStore) keeps the files; ImagesRepository keeps what a user
 * can change (public, properties, aliases) and is what lists an image.
 *
 * Import is two steps so a transport can answer bad input at once: `receive*` reads the upload to
 * a temporary file and checks it (fingerprint, archive safety, duplicates) — a refusal leaves
 * nothing; `commit` then makes the image real and, when a step fails, removes every earlier one.
 *
 * Files in the store without a row are what an import or delete cut short (by a crash) left: an
 * upload of the same bytes lists them again instead of being refused forever.
 */
import { Injectable } from '@nestjs/common';
import { AlreadyExistsError, InUseError, InvalidArgumentError, NotFoundError, Reverter } from '@lodge/common';
import { IMAGE_EXISTS, ImageEntity, ImagesRepository } from '@lodge/state';
import { ImageInfo, ImageSource, ImageStore, StagedImage } from './image-store';

export interface ReceiveOptions {
  /** refuse unless the upload hashes to this (LXD's X-LXD-fingerprint) */
  expectedFingerprint?: string;
}

/** An upload that was read and checked: commit() or discard() it. */
export interface ReceivedImage {
  readonly fingerprint: string;
  discard(): Promise<void>;
}

export interface CommitOptions {
  public?: boolean;
  /** added to (and overriding) the properties of metadata.yaml (LXD's X-LXD-properties) */
  properties?: Record<string, string>;
  /** the name the upload had, shown in the image's `filename` */
  filename?: string;
}

@Injectable()
export class ImageCatalog {
  /** the staged upload, or 'orphan' when the store already holds these bytes without a row */
  private readonly received = new WeakMap<ReceivedImage, StagedImage | 'orphan'>();

  constructor(
    private readonly store: ImageStore,
    private readonly images: ImagesRepository,
  ) {}

  /** Receives and checks a unified tarball. */
  async receiveUnified(source: ImageSource, o: ReceiveOptions = {}): Promise<ReceivedImage> {
    return this.checkNew(await this.store.stageUnified(source, o));
  }

  /** Receives and checks a split image; `rootfs` is read after `metadata` is consumed. */
  async receiveSplit(metadata: ImageSource, rootfs: ImageSource, o: ReceiveOptions = {}): Promise<ReceivedImage> {
    return this.checkNew(await this.store.stageSplit(metadata, rootfs, o));
  }

  /** Makes a received image real: files in place, unpacked into the pool, listed. */
  async commit(image: ReceivedImage, o: CommitOptions = {}): Promise<ImageEntity> {
    const staged = this.received.get(image);
    if (!staged) throw new InvalidArgumentError(`the upload of image ${image.fingerprint} was already committed or discarded`);
    this.received.delete(image);
    if (staged === 'orphan') return this.addRow(await this.store.get(image.fingerprint), o);
    const r = new Reverter();
    try {
      const info = await this.store.commitStaged(staged);
      r.push('image files and volume', () => this.store.delete(info.fingerprint));
      try {
        const row = await this.addRow(info, o);
        r.commit();
        return row;
      } catch (err) {
        // listed meanwhile by an upload of the same bytes that took our files for an orphan: they are its now
        if (err instanceof AlreadyExistsError) r.commit();
        throw err;
      }
    } finally {
      await r.revert();
    }
  }

  private addRow(info: ImageInfo, o: CommitOptions): Promise<ImageEntity> {
    return this.images.create({
      fingerprint: info.fingerprint,
      filename: o.filename ?? '',
      size: info.size,
      architecture: info.architecture,
      public: o.public ?? false,
      properties: { ...info.properties, ...(o.properties ?? {}) },
      metadata: info.metadata as unknown as Record<string, unknown>,
      createdAt: new Date(info.created_at),
      uploadedAt: new Date(info.uploaded_at),
      expiresAt: info.expires_at ? new Date(info.expires_at) : null,
    });
  }

  /** Instances whose root volume is built on the image. */
  usedBy(fingerprint: string): Promise<string[]> {
    return this.store.users(fingerprint);
  }

  /** Deletes an image nobody uses: its row (and aliases), its volume, its files. */
  async delete(fingerprint: string): Promise<void> {
    const row = await this.images.get(fingerprint);
    const users = await this.usedBy(row.fingerprint);
    if (users.length > 0) throw new InUseError(`Image is in use by instance(s): ${users.join(', ')}`);
    // the row goes first: a failure half-way leaves unlisted files, never a listed broken image
    await this.images.delete(row.fingerprint);
    try {
      await this.store.delete(row.fingerprint);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }

  /** A second upload of the same bytes is refused with LXD's wording, also when only the row exists. */
  private async checkNew(staged: StagedImage): Promise<ReceivedImage> {
    try {
      if (await this.listed(staged.fingerprint)) throw new AlreadyExistsError(IMAGE_EXISTS);
    } catch (err) {
      await staged.discard();
      throw err;
    }
    const orphan = this.store.has(staged.fingerprint);
    // the same bytes are already in the store: the upload is not needed to list them again
    if (orphan) await staged.discard();
    const image: ReceivedImage = {
      fingerprint: staged.fingerprint,
      discard: async () => {
        if (this.received.delete(image) && !orphan) await staged.discard();
      },
    };
    this.received.set(image, orphan ? 'orphan' : staged);
    return image;
  }

  /** Whether an image with this fingerprint is listed (has its row). */
  async listed(fingerprint: string): Promise<boolean> {
    try {
      await this.images.get(fingerprint);
      return true;
    } catch (err) {
      if (err instanceof NotFoundError) return false;
      throw err;
    }
  }
}
