import { join } from 'node:path';
import { DynamicModule, Inject, Injectable, Logger, Module, OnApplicationShutdown, OnModuleDestroy } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import {
  AmqpSession,
  COMPUTE_HOST_TIMERS,
  ComputeHostService,
  ComputeHostTimers,
  ComputeImages,
  ComputeManager,
  GLANCE_IMAGE_CACHE,
  GlanceClient,
  GlanceImageCache,
  GlanceOptions,
  ConductorClient,
  NOVA_COMPUTE_OPTIONS,
  NOVA_CONDUCTOR,
  NovaComputeOptions,
  NOVA_PLACEMENT,
  OsloRpcClient,
  OsloRpcServer,
  PlacementOptions,
  PlacementReporter,
} from '@lodge/nova';
import { ImageCatalog } from '@lodge/image';
import { ImagesRepository } from '@lodge/state';
import { BaseApiRpcController } from './baseapi-rpc.controller';
import { ComputeRpcController } from './compute-rpc.controller';

export interface NovaOptions {
  /** oslo transport URL: rabbit://user:pass@host:port/vhost */
  amqpUrl: string;
  /** nova's CONF.host for this compute */
  host: string;
  /** hypervisor node name (default: host) */
  node?: string;
  /** control_exchange (default nova) */
  exchange?: string;
  stateDir: string;
  pool?: string;
  /** rpc_response_timeout for calls to the conductor, seconds (default 60) */
  rpcTimeout?: number;
  timers?: Partial<ComputeHostTimers>;
  shutdownTimeout?: number;
  /** the Glance v2 endpoint images not on this host are downloaded from (none: local images only) */
  glance?: GlanceOptions;
  /** report this host's inventory to placement (none: no placement reporting) */
  placement?: PlacementOptions;
}

const NOVA_OPTIONS = Symbol('NOVA_OPTIONS');
const AMQP_SESSION = Symbol('AMQP_SESSION');
const RPC_CLIENT = Symbol('RPC_CLIENT');

/** Closes the AMQP side last, after the RPC server and the host's periodic tasks stopped. */
@Injectable()
class NovaLifecycle implements OnModuleDestroy, OnApplicationShutdown {
  constructor(
    @Inject(AMQP_SESSION) private readonly session: AmqpSession,
    @Inject(RPC_CLIENT) private readonly rpc: OsloRpcClient,
    private readonly host: ComputeHostService,
  ) {}

  onModuleDestroy(): void {
    this.host.stop();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.rpc.close();
    await this.session.close();
  }
}

/**
 * Lodge as a nova-compute host: the oslo RPC server on `compute.<host>` (a Nest transport over
 * the AMQP session), the conductor client, and the compute use cases. Mounted only when an AMQP
 * URL is configured.
 */
@Module({})
export class NovaModule {
  static forRoot(options: NovaOptions): DynamicModule {
    const compute: NovaComputeOptions = {
      host: options.host,
      node: options.node ?? options.host,
      stateDir: options.stateDir,
      pool: options.pool ?? 'default',
      shutdownTimeout: options.shutdownTimeout ?? 60,
    };
    const timers: ComputeHostTimers = { reportInterval: 10, resourceInterval: 60, powerSyncInterval: 60, ...options.timers };
    return {
      module: NovaModule,
      controllers: [ComputeRpcController, BaseApiRpcController],
      providers: [
        { provide: NOVA_OPTIONS, useValue: options },
        { provide: NOVA_COMPUTE_OPTIONS, useValue: compute },
        { provide: COMPUTE_HOST_TIMERS, useValue: timers },
        {
          provide: AMQP_SESSION,
          useFactory: () => AmqpSession.open({ url: options.amqpUrl, connectionName: `lodged:${options.host}`, logger: new Logger('AMQP') }),
        },
        {
          provide: RPC_CLIENT,
          inject: [AMQP_SESSION],
          useFactory: async (session: AmqpSession) => {
            const client = new OsloRpcClient(session, options.exchange ?? 'nova', options.rpcTimeout ?? 60);
            await client.start();
            return client;
          },
        },
        { provide: NOVA_CONDUCTOR, inject: [RPC_CLIENT], useFactory: (rpc: OsloRpcClient) => new ConductorClient(rpc, options.rpcTimeout ?? 60) },
        ImageCatalog,
        {
          provide: GLANCE_IMAGE_CACHE,
          inject: [ImageCatalog, ImagesRepository],
          useFactory: (catalog: ImageCatalog, images: ImagesRepository) =>
            options.glance ? new GlanceImageCache(new GlanceClient(options.glance), catalog, images, join(options.stateDir, 'nova', 'glance-downloads')) : null,
        },
        { provide: NOVA_PLACEMENT, useFactory: () => (options.placement ? PlacementReporter.fromOptions(options.placement) : null) },
        ComputeImages,
        ComputeManager,
        ComputeHostService,
        NovaLifecycle,
      ],
    };
  }
}

/**
 * Connects the oslo RPC server to a created app (before it listens): the compute endpoint
 * (6.1) and baseapi (1.1). Then the
 * host duties start in the background (they wait for the conductor).
 */
export async function connectNova(app: INestApplication, options: NovaOptions): Promise<void> {
  const session = app.get<AmqpSession>(AMQP_SESSION);
  app.connectMicroservice(
    {
      strategy: new OsloRpcServer({
        session,
        exchange: options.exchange ?? 'nova',
        topic: 'compute',
        server: options.host,
        endpoints: [
          { namespace: null, version: '6.1' },
          { namespace: 'baseapi', version: '1.1' },
        ],
      }),
    },
    { inheritAppConfig: false },
  );
  await app.startAllMicroservices();
  const host = app.get(ComputeHostService);
  host.start().catch((err) => new Logger('ComputeHost').error(`nova host registration failed: ${(err as Error).message}`));
}
