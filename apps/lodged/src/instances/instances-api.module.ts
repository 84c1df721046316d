import { Module } from '@nestjs/common';
import { InstanceLogsController } from './instance-logs.controller';
import { InstanceOperations } from './instance-operations';
import { InstanceStateController } from './instance-state.controller';
import { InstanceController } from './instance.controller';
import { InstancesController } from './instances.controller';

/** /1.0/instances and /1.0/containers: list, create, get/put/patch/rename/delete, state, logs. */
@Module({
  // the sub-resource controllers come first: their fixed paths must win over /:name
  controllers: [InstanceStateController, InstanceLogsController, InstancesController, InstanceController],
  providers: [InstanceOperations],
})
export class InstancesApiModule {}
