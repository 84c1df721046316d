import { Module } from '@nestjs/common';

/** /1.0/resources: host CPU, memory, disks. */
@Module({ controllers: [], providers: [] })
export class ResourcesApiModule {}
