import { Module } from '@nestjs/common';

/** /1.0/instances and /1.0/containers: list, create, get/put/patch/rename/delete, state, logs. */
@Module({ controllers: [], providers: [] })
export class InstancesApiModule {}
