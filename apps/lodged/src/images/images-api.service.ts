/**
 * The use cases behind /1.0/images and /1.0/images/aliases, in LXD 5.0's terms: uploads become a
 * "Downloading image" task operation, deletes a "Deleting image" one; GET/PUT/PATCH answer with
 * ETags; every change emits its lifecycle event. Import and delete themselves are ImageCatalog's.
 *
 * An upload is read and checked before the operation exists, so bad input (an unsafe tarball, a
 * wrong X-LXD-fingerprint, a second import of the same image) is a plain 4xx answer and leaves
 * nothing behind; the operation only makes a checked image real.
 */
import type { IncomingMessage } from 'node:http';
import { Injectable } from '@nestjs/common';
import { AlreadyExistsError, InUseError, InvalidArgumentError, NotSupportedError } from '@lodge/common';
import { ImageCatalog, ImageStore, ReceivedImage } from '@lodge/image';
import { ImageAliasEntity, ImagesRepository } from '@lodge/state';
import { etagHash, Operation } from '@lodge/api-types';
import { EventsService } from '../events/events.service';
import { checkIfMatch } from '../http/etag';
import { NotImplementedError } from '../http/status-error';
import { OperationsService } from '../operations/operations.service';
import type { RequestAuth } from '../trust/trust.service';
import { ExportFile } from './image-export.response';
import {
  parseAliasPatch,
  parseAliasPost,
  parseAliasPut,
  parseAliasRename,
  parseImagePatch,
  parseImagePut,
  parseUploadHeaders,
} from './image-request';
import { aliasUrl, ApiImage, ApiImageAliasEntry, imageEtagFields, imageUrl, toApiAlias, toApiImage } from './image-view';
import { MultipartReader, multipartBoundary } from './multipart';

@Injectable()
export class ImagesApiService {
  constructor(
    private readonly catalog: ImageCatalog,
    private readonly store: ImageStore,
    private readonly images: ImagesRepository,
    private readonly operations: OperationsService,
    private readonly events: EventsService,
  ) {}

  // ------------------------------------------------------------------ images

  async list(project: string): Promise<ApiImage[]> {
    const [rows, aliases] = await Promise.all([this.images.list(), this.images.listAliases(project)]);
    const byImage = new Map<string, ImageAliasEntity[]>();
    for (const a of aliases) byImage.set(a.fingerprint, [...(byImage.get(a.fingerprint) ?? []), a]);
    return rows.map((row) => toApiImage(row, byImage.get(row.fingerprint) ?? []));
  }

  async urls(): Promise<string[]> {
    return (await this.images.list()).map((row) => imageUrl(row.fingerprint));
  }

  /** By fingerprint or a unique prefix of it, as LXD resolves them. */
  async get(prefix: string, project: string): Promise<{ image: ApiImage; etag: string }> {
    const row = await this.images.getByPrefix(prefix);
    const image = toApiImage(row, await this.images.aliasesOf(row.fingerprint, project));
    return { image, etag: etagHash(imageEtagFields(row)) };
  }

  /**
   * POST /1.0/images with an image body: a unified tarball (any content type but JSON and
   * multipart) or multipart/form-data with `metadata` then `rootfs`. Reads and checks the upload,
   * then returns the operation that lists it.
   */
  async upload(req: IncomingMessage, project: string, auth: RequestAuth): Promise<Operation> {
    const headers = parseUploadHeaders(req.headers);
    const boundary = multipartBoundary(req.headers['content-type']);
    let staged: ReceivedImage;
    let filename = headers.filename;
    if (boundary) {
      const reader = new MultipartReader(req, boundary);
      const metadata = await reader.next();
      if (metadata?.name !== 'metadata') throw new InvalidArgumentError('Invalid multipart image');
      const rootfs = async () => {
        const part = await reader.next();
        if (part?.name === 'rootfs.img') throw new NotSupportedError('Virtual-machine images are not supported');
        if (part?.name !== 'rootfs') throw new InvalidArgumentError('Invalid multipart image');
        // LXD names a split image after its rootfs file
        filename = part.filename;
        return part.stream;
      };
      staged = await this.catalog.receiveSplit(metadata.stream, rootfs, { expectedFingerprint: headers.expectedFingerprint });
    } else {
      staged = await this.catalog.receiveUnified(req, { expectedFingerprint: headers.expectedFingerprint });
    }
    try {
      return this.operations
        .createAndStart({
          class: 'task',
          description: 'Downloading image',
          project,
          run: async () => {
            const row = await this.catalog.commit(staged, { public: headers.public, properties: headers.properties, filename });
            this.lifecycle('image-created', imageUrl(row.fingerprint), project, auth, { type: 'container' });
            // LXD's metadata is a map of strings: the size too
            return { fingerprint: row.fingerprint, size: String(row.size) };
          },
        })
        .render();
    } catch (err) {
      await staged.discard();
      throw err;
    }
  }

  /** POST /1.0/images with a JSON body: copies, URLs and publishing are not there yet (501). */
  refuseJsonSource(body: unknown): never {
    const source = (body as { source?: { type?: unknown; mode?: unknown } } | null)?.source;
    const type = source?.type;
    if (source?.mode === 'push') throw new NotImplementedError('Pushing images from another server is not supported');
    if (type === 'image' || type === 'url') {
      throw new NotImplementedError(`Importing images from another server (source type "${type}") is not supported; upload the image file instead`);
    }
    if (type === 'instance' || type === 'container' || type === 'virtual-machine' || type === 'snapshot') {
      throw new NotImplementedError('Publishing instances as images is not supported');
    }
    throw new InvalidArgumentError('Invalid images JSON');
  }

  async replace(prefix: string, body: unknown, ifMatch: string | undefined, project: string, auth: RequestAuth): Promise<void> {
    const row = await this.images.getByPrefix(prefix);
    checkIfMatch(ifMatch, imageEtagFields(row));
    await this.images.update(row.fingerprint, parseImagePut(body));
    this.lifecycle('image-updated', imageUrl(row.fingerprint), project, auth);
  }

  async patch(prefix: string, body: unknown, ifMatch: string | undefined, project: string, auth: RequestAuth): Promise<void> {
    const row = await this.images.getByPrefix(prefix);
    checkIfMatch(ifMatch, imageEtagFields(row));
    await this.images.update(row.fingerprint, parseImagePatch(body, row.properties ?? {}));
    this.lifecycle('image-updated', imageUrl(row.fingerprint), project, auth);
  }

  /** DELETE: refused at once while instances are built on the image; otherwise an operation. */
  async delete(prefix: string, project: string, auth: RequestAuth): Promise<Operation> {
    const row = await this.images.getByPrefix(prefix);
    const users = await this.catalog.usedBy(row.fingerprint);
    if (users.length > 0) throw new InUseError(`Image is in use by instance(s): ${users.join(', ')}`);
    const url = imageUrl(row.fingerprint);
    return this.operations
      .createAndStart({
        class: 'task',
        description: 'Deleting image',
        project,
        resources: { images: [url] },
        run: async () => {
          await this.catalog.delete(row.fingerprint);
          this.lifecycle('image-deleted', url, project, auth);
        },
      })
      .render();
  }

  /** The file(s) of GET /1.0/images/{fp}/export, named as LXD names them. */
  async exportFiles(prefix: string, project: string, auth: RequestAuth): Promise<ExportFile[]> {
    const row = await this.images.getByPrefix(prefix);
    const paths = await this.store.exportPaths(row.fingerprint);
    this.lifecycle('image-retrieved', imageUrl(row.fingerprint), project, auth);
    const files: ExportFile[] = [{ name: 'metadata', ...paths.metadata }];
    if (paths.rootfs) files.push({ name: 'rootfs', ...paths.rootfs });
    return files;
  }

  // ------------------------------------------------------------------ aliases

  async listAliases(project: string): Promise<ApiImageAliasEntry[]> {
    return (await this.images.listAliases(project)).map(toApiAlias);
  }

  async aliasUrls(project: string): Promise<string[]> {
    return (await this.images.listAliases(project)).map((a) => aliasUrl(a.name));
  }

  async getAlias(name: string, project: string): Promise<{ alias: ApiImageAliasEntry; etag: string }> {
    const alias = toApiAlias(await this.images.getAlias(name, project));
    return { alias, etag: etagHash(alias) };
  }

  async createAlias(body: unknown, project: string, auth: RequestAuth): Promise<string> {
    const a = parseAliasPost(body);
    const image = await this.images.getByPrefix(a.target);
    try {
      await this.images.createAlias({ name: a.name, fingerprint: image.fingerprint, description: a.description, project });
    } catch (err) {
      if (err instanceof AlreadyExistsError) throw new AlreadyExistsError(`Alias '${a.name}' already exists`);
      throw err;
    }
    this.lifecycle('image-alias-created', aliasUrl(a.name), project, auth, { target: image.fingerprint });
    return aliasUrl(a.name);
  }

  async replaceAlias(name: string, body: unknown, ifMatch: string | undefined, project: string, auth: RequestAuth): Promise<void> {
    await this.currentAlias(name, project, ifMatch);
    const put = parseAliasPut(body);
    const image = await this.images.getByPrefix(put.target);
    await this.images.updateAlias(name, { fingerprint: image.fingerprint, description: put.description }, project);
    this.lifecycle('image-alias-updated', aliasUrl(name), project, auth, { target: image.fingerprint });
  }

  async patchAlias(name: string, body: unknown, ifMatch: string | undefined, project: string, auth: RequestAuth): Promise<void> {
    const current = await this.currentAlias(name, project, ifMatch);
    const patch = parseAliasPatch(body);
    const fingerprint = patch.target !== undefined ? (await this.images.getByPrefix(patch.target)).fingerprint : undefined;
    await this.images.updateAlias(name, { fingerprint, description: patch.description }, project);
    this.lifecycle('image-alias-updated', aliasUrl(name), project, auth, { target: fingerprint ?? current.target });
  }

  async renameAlias(name: string, body: unknown, project: string, auth: RequestAuth): Promise<string> {
    const newName = parseAliasRename(body);
    try {
      await this.images.renameAlias(name, newName, project);
    } catch (err) {
      if (err instanceof AlreadyExistsError) throw new AlreadyExistsError(`Alias '${newName}' already exists`);
      throw err;
    }
    this.lifecycle('image-alias-renamed', aliasUrl(newName), project, auth, { old_name: name });
    return aliasUrl(newName);
  }

  async deleteAlias(name: string, project: string, auth: RequestAuth): Promise<void> {
    await this.images.deleteAlias(name, project);
    this.lifecycle('image-alias-deleted', aliasUrl(name), project, auth);
  }

  private async currentAlias(name: string, project: string, ifMatch: string | undefined): Promise<ApiImageAliasEntry> {
    const alias = toApiAlias(await this.images.getAlias(name, project));
    checkIfMatch(ifMatch, alias);
    return alias;
  }

  private lifecycle(action: string, source: string, project: string, auth: RequestAuth, context?: Record<string, unknown>): void {
    this.events.emitLifecycle(
      {
        action,
        source,
        ...(context ? { context } : {}),
        requestor: { username: auth.fingerprint ?? (auth.protocol === 'unix' ? 'root' : ''), protocol: auth.protocol, address: auth.address },
      },
      project,
    );
  }
}
