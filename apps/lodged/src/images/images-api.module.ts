import { Module } from '@nestjs/common';
import { ImageCatalog } from '@lodge/image';
import { ImageAliasesController } from './image-aliases.controller';
import { ImagesApiService } from './images-api.service';
import { ImagesController } from './images.controller';

/**
 * /1.0/images, /1.0/images/aliases, export. The aliases controller comes first: its routes must
 * be matched before /1.0/images/{fingerprint} would take "aliases" for a fingerprint.
 */
@Module({ controllers: [ImageAliasesController, ImagesController], providers: [ImageCatalog, ImagesApiService] })
export class ImagesApiModule {}
