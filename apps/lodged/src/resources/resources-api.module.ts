import { Module } from '@nestjs/common';
import { HostResourcesService } from './host-resources.service';
import { ResourcesController } from './resources.controller';

/** /1.0/resources: host CPU, memory, disks, system; a storage pool's free space. */
@Module({ controllers: [ResourcesController], providers: [HostResourcesService] })
export class ResourcesApiModule {}
