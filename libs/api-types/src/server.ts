/** GET /1.0 (api.Server) and its writable part (api.ServerPut). */

/** Server config as shown: plain strings, except hidden keys (core.trust_password) shown as `true`. */
export type ServerConfig = Record<string, string | boolean>;

export interface ServerPut {
  config: ServerConfig;
}

/** One entry of `storage_supported_drivers`: LXD's struct has no json tags, hence capitalised keys. */
export interface ServerStorageDriverInfo {
  Name: string;
  Version: string;
  Remote: boolean;
}

export interface ServerEnvironment {
  addresses: string[];
  architectures: string[];
  certificate: string;
  certificate_fingerprint: string;
  /** Instance drivers, " | "-separated (LXD: "lxc" or "lxc | qemu"). */
  driver: string;
  driver_version: string;
  firewall: string;
  kernel: string;
  kernel_architecture: string;
  kernel_features: Record<string, string>;
  kernel_version: string;
  lxc_features: Record<string, string>;
  os_name: string;
  os_version: string;
  project: string;
  server: string;
  server_clustered: boolean;
  server_name: string;
  server_pid: number;
  server_version: string;
  storage: string;
  storage_version: string;
  storage_supported_drivers: ServerStorageDriverInfo[];
}

/**
 * GET /1.0 for an untrusted client (api.ServerUntrusted): LXD 5.0 answers with exactly these six
 * fields — no `config`, no `environment` — and no ETag.
 */
export interface ServerUntrusted {
  api_extensions: string[];
  api_status: 'stable' | 'devel' | 'deprecated';
  api_version: '1.0';
  auth: 'trusted' | 'untrusted';
  public: boolean;
  auth_methods: string[];
}

/** GET /1.0 for a trusted client (api.Server). */
export interface ServerInfo extends ServerPut, ServerUntrusted {
  environment: ServerEnvironment;
}

/** The LXD version Lodge speaks: clients (Juju) parse it as X.Y and refuse < 5.0. */
export const LXD_COMPAT_SERVER_VERSION = '5.0.2';
