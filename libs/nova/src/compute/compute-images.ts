import { Injectable } from '@nestjs/common';
import { NotFoundError } from '@lodge/common';
import { ImagesRepository } from '@lodge/state';
import { NovaException } from '../errors/nova-exceptions';

/**
 * Which Lodge image a nova build uses: a local image whose alias equals the `image_ref` (how
 * operators pre-seed hosts, as with nova-lxd), or one imported earlier for that Glance image id.
 * Returns the fingerprint.
 */
@Injectable()
export class ComputeImages {
  constructor(private readonly images: ImagesRepository) {}

  async resolve(imageRef: string): Promise<string> {
    if (!imageRef) throw new NovaException('ImageNotFound', { image_id: imageRef });
    try {
      const alias = await this.images.getAlias(imageRef);
      return alias.fingerprint;
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
    throw new NovaException('ImageNotFound', { image_id: imageRef });
  }
}
