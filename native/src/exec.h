#pragma once
#include "common.h"

namespace lodge {

struct ExecSpec {
  int init_pidfd = -1;              // pidfd of the container's init: the namespaces to join
  bool userns = true;               // the container has its own user namespace
  std::vector<std::string> cgroup_procs;
  std::vector<std::string> cgroup_tasks;  // v1 `tasks` files ("" for v2), see v1_tasks_files
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string cwd = "/";
  uint32_t uid = 0, gid = 0;
  std::vector<uint32_t> groups;
  bool pty = false;
  uint16_t rows = 24, cols = 80;
  ConfineSpec confine;
};

struct ExecResult {
  int pid = -1;      // host pid of the command (a child of this process)
  int pidfd = -1;
  int pty_master = -1;               // with pty
  int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1;  // without pty: our ends of the pipes
  Failure failure{};
};

ExecResult exec_in_container(const ExecSpec &spec, const SeccompProgram &seccomp);

}  // namespace lodge
