import { DynamicModule, Inject, Injectable, Module, OnApplicationShutdown, Provider } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { createStateDataSource, openStateDataSource, StateDataSourceOptions } from './data-source';
import {
  CertificatesRepository,
  IdmapRepository,
  ImagesRepository,
  InstancesRepository,
  NetworkAllocationsRepository,
  NetworksRepository,
  OperationsRepository,
  ProfilesRepository,
  ProjectsRepository,
  ServerConfigRepository,
  StoragePoolsRepository,
} from './repositories';

export interface StateModuleOptions extends StateDataSourceOptions {
  /** Run pending migrations when the module starts (default true). */
  migrationsRun?: boolean;
}

export interface StateModuleAsyncOptions {
  imports?: DynamicModule['imports'];
  inject?: Array<string | symbol | Function>;
  useFactory: (...args: any[]) => StateModuleOptions | Promise<StateModuleOptions>;
}

export const STATE_OPTIONS = Symbol('STATE_OPTIONS');

export const STATE_REPOSITORIES = [
  InstancesRepository,
  ProfilesRepository,
  ImagesRepository,
  CertificatesRepository,
  ServerConfigRepository,
  OperationsRepository,
  IdmapRepository,
  StoragePoolsRepository,
  ProjectsRepository,
  NetworksRepository,
  NetworkAllocationsRepository,
];

/** Closes the pool when the application shuts down (after every onModuleDestroy hook). */
@Injectable()
export class StateLifecycle implements OnApplicationShutdown {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

const dataSourceProvider: Provider = {
  provide: DataSource,
  inject: [STATE_OPTIONS],
  useFactory: async (options: StateModuleOptions) => {
    if (options.migrationsRun === false) return createStateDataSource(options).initialize();
    return openStateDataSource(options);
  },
};

/**
 * Lodge's state: a migrated TypeORM DataSource on PostgreSQL and the repositories. Global, so
 * feature modules inject the repositories without importing it.
 *
 *   StateModule.forRoot({ url: 'postgres://lodge@%2Fvar%2Flib%2Flodge%2Fdatabase%2Frun/lodge' })
 */
@Module({})
export class StateModule {
  static forRoot(options: StateModuleOptions): DynamicModule {
    return StateModule.build([{ provide: STATE_OPTIONS, useValue: options }]);
  }

  /** Options from other providers, e.g. the URL of an EmbeddedPostgres started by another provider. */
  static forRootAsync(options: StateModuleAsyncOptions): DynamicModule {
    return StateModule.build(
      [{ provide: STATE_OPTIONS, inject: options.inject ?? [], useFactory: options.useFactory }],
      options.imports,
    );
  }

  private static build(optionProviders: Provider[], imports: DynamicModule['imports'] = []): DynamicModule {
    return {
      module: StateModule,
      global: true,
      imports,
      providers: [...optionProviders, dataSourceProvider, StateLifecycle, ...STATE_REPOSITORIES],
      exports: [DataSource, ...STATE_REPOSITORIES],
    };
  }
}
