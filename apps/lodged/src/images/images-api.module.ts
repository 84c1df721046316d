import { Module } from '@nestjs/common';

/** /1.0/images, /1.0/images/aliases, export. */
@Module({ controllers: [], providers: [] })
export class ImagesApiModule {}
