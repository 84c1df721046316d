import type { DynamicModule, Type } from '@nestjs/common';
import type { NovaOptions } from './nova/nova.module';
import type { ServerConfigStore } from './server/server-config.store';
import type { CertificateStore } from './trust/certificate.store';

export interface DaemonOptions {
  /**
   * State directory: unix.socket, server.crt, server.key live here. The HTTPS listener follows
   * the stored core.https_address.
   */
  dir: string;
  /** Largest JSON request body accepted (bytes); larger bodies get 413. Default 8 MiB. */
  jsonBodyLimit?: number;
  /** How long finished operations stay visible (ms). Default 5000, as LXD. */
  operationRetentionMs?: number;
  /** Server config persistence. Default: InMemoryServerConfigStore (lost on restart). */
  serverConfigStore?: ServerConfigStore;
  /** Trust store (/1.0/certificates). Default: InMemoryCertificateStore (lost on restart). */
  certificateStore?: CertificateStore;
  /**
   * Extra Nest modules mounted beside the REST core (the instance/image endpoints as they arrive;
   * tests mount probes). LodgedModule is global, so they can inject OperationsService etc.
   */
  modules?: Array<Type<unknown> | DynamicModule>;
  /** Serve as a nova-compute host over AMQP (needs the engine modules). */
  nova?: NovaOptions;
  /** Log through Nest's logger (default false: quiet, for tests). */
  logger?: boolean;
}

export const DAEMON_OPTIONS = Symbol('DAEMON_OPTIONS');
export const DEFAULT_JSON_BODY_LIMIT = 8 * 1024 * 1024;
