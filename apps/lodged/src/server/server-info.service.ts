import { Inject, Injectable } from '@nestjs/common';
import { API_EXTENSIONS, LXD_COMPAT_SERVER_VERSION, ServerInfo, ServerUntrusted } from '@lodge/api-types';
import type { HttpsListenerService } from './https-listener.service';
import { ServerConfigService } from './server-config.service';
import { HostFacts } from './host-facts';
import { ServerCertificate } from './certificate';

export const HOST_FACTS = Symbol('HOST_FACTS');
export const SERVER_CERTIFICATE = Symbol('SERVER_CERTIFICATE');
/** The HttpsListenerService, by token (it depends on this file's SERVER_CERTIFICATE). */
export const HTTPS_LISTENER = Symbol('HTTPS_LISTENER');

/** Lodge's own version, shown as the instance driver's version. */
export const LODGE_VERSION = '0.1.0';

/**
 * Instance driver name. LXD reports its drivers ("lxc", "lxc | qemu"); Lodge runs containers with
 * its own runtime, not liblxc, so it reports "lodge" in the same format rather than claim "lxc".
 */
export const INSTANCE_DRIVER = 'lodge';

@Injectable()
export class ServerInfoService {
  constructor(
    private readonly config: ServerConfigService,
    @Inject(HOST_FACTS) private readonly host: HostFacts,
    @Inject(SERVER_CERTIFICATE) private readonly certificate: ServerCertificate,
    @Inject(HTTPS_LISTENER) private readonly listener: Pick<HttpsListenerService, 'addresses'>,
  ) {}

  /** GET /1.0 for an untrusted HTTPS client: LXD's six public fields, nothing about the host. */
  untrusted(): ServerUntrusted {
    return {
      api_extensions: [...API_EXTENSIONS],
      api_status: 'stable',
      api_version: '1.0',
      auth: 'untrusted',
      public: false,
      auth_methods: ['tls'],
    };
  }

  /** GET /1.0 for a trusted client (the unix socket is always trusted). */
  async info(project: string): Promise<ServerInfo> {
    const h = this.host;
    return {
      config: await this.config.render(),
      api_extensions: [...API_EXTENSIONS],
      api_status: 'stable',
      api_version: '1.0',
      auth: 'trusted',
      public: false,
      auth_methods: ['tls'],
      environment: {
        addresses: this.listener.addresses(),
        architectures: h.architectures,
        certificate: this.certificate.cert,
        certificate_fingerprint: this.certificate.fingerprint,
        driver: INSTANCE_DRIVER,
        driver_version: LODGE_VERSION,
        firewall: '',
        kernel: h.kernel,
        kernel_architecture: h.kernelArchitecture,
        kernel_features: h.kernelFeatures,
        kernel_version: h.kernelVersion,
        lxc_features: {},
        os_name: h.osName,
        os_version: h.osVersion,
        project,
        server: 'lxd',
        server_clustered: false,
        server_name: h.serverName,
        server_pid: process.pid,
        server_version: LXD_COMPAT_SERVER_VERSION,
        storage: 'dir',
        storage_version: '1',
        storage_supported_drivers: [{ Name: 'dir', Version: '1', Remote: false }],
      },
    };
  }
}
