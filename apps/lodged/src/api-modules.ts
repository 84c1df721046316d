/**
 * The API modules served on top of the engine. One line per resource family: adding an endpoint
 * family is adding its folder and its module here.
 */
import type { DynamicModule, Type } from '@nestjs/common';
import { EngineModule, EngineOptions } from './engine/engine.module';
import { ExecApiModule } from './exec/exec-api.module';
import { FilesApiModule } from './files/files-api.module';
import { ImagesApiModule } from './images/images-api.module';
import { InstancesApiModule } from './instances/instances-api.module';
import { NetworksApiModule } from './networks/networks-api.module';
import { ProfilesApiModule } from './profiles/profiles-api.module';
import { ResourcesApiModule } from './resources/resources-api.module';

export const API_MODULES: Array<Type<unknown>> = [
  ImagesApiModule,
  InstancesApiModule,
  ExecApiModule,
  FilesApiModule,
  ProfilesApiModule,
  NetworksApiModule,
  ResourcesApiModule,
];

/** The engine plus every API module: what main.ts (and the end-to-end tests) mount. */
export function engineModules(options: EngineOptions): Array<Type<unknown> | DynamicModule> {
  return [EngineModule.forRoot(options), ...API_MODULES];
}
