#pragma once
#include "common.h"

namespace lodge {

struct SpawnSpec {
  std::string rootfs;               // host path of the container's root directory
  std::vector<std::string> argv;    // init and its arguments
  std::vector<std::string> env;     // "KEY=value"
  std::string hostname;
  bool userns = true;               // false = privileged container (no user namespace)
  std::string uid_map, gid_map;     // "inside outside count\n" lines, written by the parent
  int netns_fd = -1;                // join this network namespace instead of creating one
  bool idmap_rootfs = false;        // present the rootfs through an idmapped mount
  // Rootfs as an overlay (when overlay_lower is set): the image rootfs as the lower layer
  // (idmapped into the container for unprivileged ones), mounted at overlay_lower_mount, under
  // the container's own upper layer; the overlay is mounted at `rootfs`. Only ever inside the
  // container's mount namespaces, never on the host.
  std::string overlay_lower, overlay_lower_mount, overlay_upper, overlay_work;
  std::string overlay_data;         // "lowerdir=…,upperdir=…,workdir=…", built before the clone
  std::vector<MountSpec> mounts;    // the mount plan, both stages
  int root_uid = 0, root_gid = 0;   // host ids of the container's root (owner of what setup creates)
  std::vector<std::string> cgroup_procs;   // cgroup.procs files the parent writes the pid into
  // For each cgroup_procs file: its hierarchy's `tasks` file (cgroup v1), or "" (v2). Init joins
  // those itself by writing "0" (see init_child); built before the clone (S never allocates).
  std::vector<std::string> cgroup_tasks;
  int console_fd = -1;              // init's stdout/stderr (the console log)
  std::string cwd = "/";
  ConfineSpec confine;
  // Hold init once its namespaces, id maps and cgroups exist, before anything of it runs: the
  // caller sets up what must be there from init's first instruction (e.g. NICs in its network
  // namespace), then resume_spawn() lets it go on, or abort_spawn() ends it.
  bool hold = false;
};

struct SpawnResult {
  int pid = -1;
  int pidfd = -1;
  int hold = -1;      // with spec.hold: the token for resume_spawn / abort_spawn
  Failure failure{};  // failure.err != 0 on error
};

// Runs on a worker thread. Never leaves a process behind on failure. The pidfd belongs to the
// caller from here on (also for a held init).
SpawnResult spawn_container(const SpawnSpec &spec, const SeccompProgram &seccomp);

// A held init goes on (worker thread): its mounts, pivot_root, confinement, execve. On failure
// init is killed and reaped; the caller still closes the pidfd it got from spawn_container.
struct ResumeSpec {
  int hold = -1;
};
SpawnResult resume_spawn(const ResumeSpec &spec, const SeccompProgram &seccomp);
// A held init is killed and reaped (no worker thread needed: it is only waiting).
void abort_spawn(int hold);

}  // namespace lodge
