import { Module } from '@nestjs/common';
import { FilesController } from './files.controller';
import { InstanceFilesService } from './instance-files.service';
import { InstanceRoots } from './instance-root';

/** /1.0/instances/{name}/files: GET/POST/DELETE confined to the rootfs. */
@Module({ controllers: [FilesController], providers: [InstanceFilesService, InstanceRoots] })
export class FilesApiModule {}
