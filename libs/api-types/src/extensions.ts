/**
 * The `api_extensions` Lodge advertises in GET /1.0.
 *
 * THIS LIST IS A CONTRACT. Clients (the `lxc` Go client, pylxd, Juju, MAAS) use it to choose code
 * paths and skip fallbacks: advertising an extension the daemon does not really implement breaks
 * them in ways that are hard to trace. Every entry below must be backed by a working feature and,
 * ideally, by a test. Add a name only together with the feature, in LXD's order (the order of
 * LXD 5.0's list), with a comment saying what backs it.
 *
 * Not advertised yet, on purpose:
 * `certificate_project` (restricted certificates are refused, not enforced), `clustering` (GET /1.0/cluster answers enabled=false, but the
 * member API behind `clustering` does not exist), `event_lifecycle` (no lifecycle events yet).
 */
export const API_EXTENSIONS: readonly string[] = Object.freeze([
  // GET /1.0 returns an ETag; PUT/PATCH /1.0 honour If-Match (412 on mismatch).
  'etag',
  // PATCH /1.0 merges server config.
  'patch',
  // POST .../files with X-LXD-type: directory (`lxc file push -r`, `lxc file mkdir`; files e2e test).
  'directory_manipulation',
  // /1.0/networks: managed bridges (create/get/put/patch/rename/delete) and host interfaces
  // (`lxc network create/list/show/set/delete`; networks e2e test). Juju reads it as "spaces supported".
  'network',
  // GET /1.0/profiles/{name} lists the instances using it in `used_by` (profiles e2e test).
  'profile_usedby',
  // POST .../exec with record-output: output under /logs/exec-output, named in metadata.output (exec e2e test).
  'container_exec_recording',
  // PUT/PATCH /1.0/certificates/{fingerprint} (name, type; ETag/If-Match).
  'certificate_update',
  // exec control socket {command: "signal"} forwards the signal to the command (exec e2e test).
  'container_exec_signal_handling',
  // GET /1.0/storage-pools[/{name}] (read-only: the `default` dir pool). `lxc storage list` needs it.
  'storage',
  // DELETE .../files, X-LXD-write: append (files e2e test).
  'file_delete',
  'file_append',
  // ipv4.dhcp.expiry on managed bridges (the dnsmasq lease time).
  'network_dhcp_expiry',
  // POST .../files with X-LXD-type: symlink (files e2e test).
  'file_symlinks',
  // GET /1.0/resources: host CPU, memory, disks (`lxc info --resources`, profiles e2e test).
  'resources',
  // proxy devices: tcp listen/connect from the host into the instance (proxy e2e test).
  'proxy',
  // GET .../files on a symlink returns its target with X-LXD-type: symlink (files e2e test).
  'file_get_symlink',
  // GET /1.0/networks/{name}/leases (`lxc network list-leases`; networks e2e test).
  'network_leases',
  // Operations carry a `description`.
  'operation_description',
  // proxy devices over udp.
  'proxy_udp',
  // GET /1.0/networks/{name}/state (`lxc network info`; Juju reads subnets from it).
  'network_state',
  // bridge.hwaddr on managed bridges.
  'network_hwaddr',
  // GET /1.0/instances?recursion=2: instances with state, snapshots, backups in one call (`lxc list`; instances e2e tests).
  'container_full',
  // GET /1.0/projects[/{name}] (read-only: `default`), ?project= accepted. `lxc project list` needs it.
  'projects',
  // resources: CPU sockets and NUMA nodes.
  'resources_cpu_socket',
  'resources_numa',
  // environment.kernel_features in GET /1.0.
  'kernel_features',
  // Events carry `location`.
  'event_location',
  // resources: the v2 layout (sockets/cores/threads), thread NUMA nodes, core dies.
  'resources_v2',
  // exec with user, group and cwd (`lxc exec --user --group --cwd`; exec e2e test).
  'container_exec_user_group_cwd',
  // /1.0/instances (with /1.0/containers kept as an alias): the instances REST API (instances e2e tests).
  'instances',
  // ?filter= on GET /1.0/instances (`lxc list` refuses to run without it).
  'api_filtering',
  // nic devices with network=<managed network> (`lxc launch` with the default profile's NIC).
  'instance_nic_network',
  'resources_cpu_threads_numa',
  'resources_cpu_core_die',
  // environment.os_name / os_version in GET /1.0.
  'api_os',
  // resources: system (uuid, vendor, product, type).
  'resources_system',
  // PUT /1.0/instances {state: {action}} changes every instance it applies to (`lxc start --all`).
  'instance_bulk_state_change',
  // environment.storage_supported_drivers in GET /1.0.
  'server_supported_storage_drivers',
  // counters.errors_* and packets_dropped_* in network and instance state.
  'network_counters_errors_dropped',
  // GET /1.0/instances/{name}?recursion=1: the instance with its state (`lxc info`).
  'instance_get_full',
  // Events carry `project`.
  'event_project',
  // POST /1.0/certificates {token:true} -> token operation; an untrusted client trusts itself with the
  // token as password. `lxc config trust add` + `lxc remote add <name> <token>` (tested end to end).
  'certificate_token',
]);
