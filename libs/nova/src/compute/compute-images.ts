import { Inject, Injectable, Optional } from '@nestjs/common';
import { NotFoundError } from '@lodge/common';
import { ImagesRepository } from '@lodge/state';
import { NovaException } from '../errors/nova-exceptions';
import { GlanceImageCache } from '../glance/glance-image-cache';
import type { RequestContext } from '../oslo/request-context';

export const GLANCE_IMAGE_CACHE = Symbol('GLANCE_IMAGE_CACHE');

/**
 * Which Lodge image a nova build uses: a local image whose alias equals the `image_ref` (how
 * operators pre-seed hosts, as with nova-lxd, and how imported Glance images are cached), else
 * the Glance image of that id, downloaded and imported once, when a Glance endpoint is
 * configured. Returns the fingerprint.
 */
@Injectable()
export class ComputeImages {
  constructor(
    private readonly images: ImagesRepository,
    @Optional() @Inject(GLANCE_IMAGE_CACHE) private readonly glance: GlanceImageCache | null = null,
  ) {}

  async resolve(ctx: RequestContext, imageRef: string): Promise<string> {
    if (!imageRef) throw new NovaException('ImageNotFound', { image_id: imageRef });
    try {
      const alias = await this.images.getAlias(imageRef);
      return alias.fingerprint;
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
    if (!this.glance) throw new NovaException('ImageNotFound', { image_id: imageRef });
    return this.glance.fetch(ctx, imageRef);
  }
}
