import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { DAEMON_OPTIONS, DaemonOptions } from './daemon-options';
import { EventsController } from './events/events.controller';
import { EventsService } from './events/events.service';
import { UpgradeRouter } from './events/upgrade-router';
import { LxdExceptionFilter } from './http/lxd-exception.filter';
import { OperationsController } from './operations/operations.controller';
import {
  DEFAULT_OPERATION_RETENTION_MS,
  NoopOperationPersistence,
  OPERATION_PERSISTENCE,
  OPERATION_RETENTION_MS,
  OperationsService,
} from './operations/operations.service';
import { ClusterController, ProjectsController, StoragePoolsController } from './resources/read-only.controllers';
import { ServerCertificate } from './server/certificate';
import { HostFacts } from './server/host-facts';
import { HttpsListenerService } from './server/https-listener.service';
import { ServerConfigService } from './server/server-config.service';
import { InMemoryServerConfigStore, SERVER_CONFIG_STORE } from './server/server-config.store';
import { HOST_FACTS, HTTPS_LISTENER, SERVER_CERTIFICATE, ServerInfoService } from './server/server-info.service';
import { ServerController } from './server/server.controller';
import { CERTIFICATE_STORE, InMemoryCertificateStore } from './trust/certificate.store';
import { CertificatesController } from './trust/certificates.controller';
import { CertificatesService } from './trust/certificates.service';
import { TrustGuard } from './trust/trust.guard';
import { TrustService } from './trust/trust.service';

export interface LodgedModuleDeps {
  options: DaemonOptions;
  certificate: ServerCertificate;
  host: HostFacts;
}

/**
 * The daemon's REST core: server info/config, the HTTPS listener, the trust store and trust checks,
 * operations, events, read-only projects/pools/cluster.
 */
@Module({})
export class LodgedModule {
  static forRoot(deps: LodgedModuleDeps): DynamicModule {
    return {
      module: LodgedModule,
      global: true,
      controllers: [
        ServerController,
        CertificatesController,
        OperationsController,
        EventsController,
        ProjectsController,
        StoragePoolsController,
        ClusterController,
      ],
      providers: [
        { provide: DAEMON_OPTIONS, useValue: deps.options },
        { provide: SERVER_CERTIFICATE, useValue: deps.certificate },
        { provide: HOST_FACTS, useValue: deps.host },
        { provide: SERVER_CONFIG_STORE, useValue: deps.options.serverConfigStore ?? new InMemoryServerConfigStore() },
        { provide: CERTIFICATE_STORE, useValue: deps.options.certificateStore ?? new InMemoryCertificateStore() },
        { provide: OPERATION_PERSISTENCE, useClass: NoopOperationPersistence },
        { provide: OPERATION_RETENTION_MS, useValue: deps.options.operationRetentionMs ?? DEFAULT_OPERATION_RETENTION_MS },
        { provide: APP_FILTER, useClass: LxdExceptionFilter },
        { provide: APP_GUARD, useClass: TrustGuard },
        OperationsService,
        EventsService,
        UpgradeRouter,
        ServerConfigService,
        ServerInfoService,
        HttpsListenerService,
        { provide: HTTPS_LISTENER, useExisting: HttpsListenerService },
        TrustService,
        CertificatesService,
      ],
      exports: [OperationsService, EventsService, ServerConfigService, TrustService, CertificatesService, HttpsListenerService, DAEMON_OPTIONS],
    };
  }
}
