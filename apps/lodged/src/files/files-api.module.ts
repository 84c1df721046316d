import { Module } from '@nestjs/common';

/** /1.0/instances/{name}/files: GET/POST/DELETE confined to the rootfs. */
@Module({ controllers: [], providers: [] })
export class FilesApiModule {}
