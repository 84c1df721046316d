/** Read-only resources the daemon serves before their libraries exist. */

/** GET /1.0/projects/{name} (api.Project). */
export interface Project {
  name: string;
  description: string;
  config: Record<string, string>;
  used_by: string[];
}

/** GET /1.0/storage-pools/{name} (api.StoragePool). */
export interface StoragePool {
  name: string;
  description: string;
  driver: string;
  status: string;
  config: Record<string, string>;
  used_by: string[];
  locations: string[];
}

/** GET /1.0/cluster (api.Cluster): a standalone server reports enabled=false. */
export interface Cluster {
  server_name: string;
  enabled: boolean;
  member_config: Array<Record<string, string>>;
}
