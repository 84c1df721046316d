// Running a command inside a running container. Node cannot setns() itself (it is
// multi-threaded), so two processes are made, both sharing Node's memory (CLONE_VM), each on its
// own stack, as posix_spawn does: no copy of Node's page tables, whatever the daemon's size
// (copying them cost 5-14 ms per exec in a daemon with a large heap).
//   parent (worker thread): clone(CLONE_VM) -> helper A, then waits for A's and B's reports
//   A: joins the container's cgroups (still host root) -> setns(init pidfd, every namespace) ->
//      container root -> [open the container's /dev/ptmx, send the master back] ->
//      clone(CLONE_VM | CLONE_PARENT) -> B -> report B's pid -> exit
//   B: (a child of Node, inside the container's pid namespace) stdio -> confinement -> ids ->
//      execve; an exec failure travels back over the same socket.
// The parent reads until EOF (A exited and B exec'd: both ends are close-on-exec) and only then
// unmaps the stacks. A and B touch nothing of Node's memory but their stacks and the spec, which
// does not change until exec_in_container returns. Node's mm is not dumpable (see addon Init):
// a container process that could signal B cannot read or write the memory B shares with Node.
#include "exec.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>

#include "child_common.h"

namespace lodge {

namespace {

struct Pipes {
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  void close_all() {
    for (int *p : {in, out, err})
      for (int i = 0; i < 2; i++)
        if (p[i] >= 0) close(p[i]), p[i] = -1;
  }
};

[[noreturn]] void fail(int sock, const char *step, const char *detail, int err) {
  Failure f{};
  set_failure(&f, step, detail, err);
  child_fail(sock, f);
}

[[noreturn]] void command_child(const ExecSpec &s, const SeccompProgram &seccomp, char *const *argv,
                                char *const *envp, int sock, int pty_slave, const Pipes &p) {
  if (setsid() < 0) fail(sock, "setsid", nullptr, errno);
  if (pty_slave >= 0) {
    if (ioctl(pty_slave, TIOCSCTTY, 0) < 0) fail(sock, "ioctl(TIOCSCTTY)", nullptr, errno);
    for (int fd = 0; fd < 3; fd++)
      if (dup2(pty_slave, fd) < 0) fail(sock, "dup2", "pty", errno);
  } else {
    if (dup2(p.in[0], 0) < 0 || dup2(p.out[1], 1) < 0 || dup2(p.err[1], 2) < 0)
      fail(sock, "dup2", "pipes", errno);
  }
  if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) fail(sock, "close_range", nullptr, errno);
  reset_signals();
  Failure f{};
  // seccomp and the bounding set while still root; the id change; then the remaining sets.
  if (confine_before_ids(s.confine, seccomp, &f) < 0) child_fail(sock, f);
  if (raw_setgroups(s.groups.size(), s.groups.empty() ? nullptr : (const gid_t *)s.groups.data()) < 0)
    fail(sock, "setgroups", nullptr, errno);
  if (raw_setresgid(s.gid) < 0) fail(sock, "setresgid", nullptr, errno);
  if (raw_setresuid(s.uid) < 0) fail(sock, "setresuid", nullptr, errno);
  if (drop_capabilities(s.confine, &f) < 0) child_fail(sock, f);
  // As the target user, so a directory it may not enter is refused as it would be by a login.
  if (chdir(s.cwd.c_str()) < 0) fail(sock, "chdir", s.cwd.c_str(), errno);
  exec_search(argv[0], argv, envp);
  fail(sock, "execve", argv[0], errno);
}

// The pty master must be a real devpts ptmx: a container could put anything at /dev/ptmx (a FUSE
// file answers ioctls as it likes), and the slave fd we get from it lands on the command's stdio.
bool is_devpts_pair(int master, int slave) {
  struct statfs sfs;
  struct stat st;
  if (fstatfs(master, &sfs) < 0 || sfs.f_type != DEVPTS_SUPER_MAGIC) return false;
  if (fstat(master, &st) < 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != 5 || minor(st.st_rdev) != 2) return false;
  if (fstatfs(slave, &sfs) < 0 || sfs.f_type != DEVPTS_SUPER_MAGIC) return false;
  if (fstat(slave, &st) < 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) < 136 || major(st.st_rdev) > 143) return false;
  return true;
}

struct HelperArgs {
  const ExecSpec *spec;
  const SeccompProgram *seccomp;
  char *const *argv;
  char *const *envp;
  int sock;
  Pipes pipes;  // a copy: the parent closes and clears its own while A and B still run
  char *command_stack_top;  // B's stack, mapped by the parent
};

struct CommandArgs {
  const HelperArgs *helper;
  int pty_slave;
};

int command_entry(void *arg) {
  const CommandArgs &c = *static_cast<const CommandArgs *>(arg);
  const HelperArgs &h = *c.helper;
  command_child(*h.spec, *h.seccomp, h.argv, h.envp, h.sock, c.pty_slave, h.pipes);
}

[[noreturn]] void helper_child(const HelperArgs &h) {
  const ExecSpec &s = *h.spec;
  int sock = h.sock;
  const Pipes &p = h.pipes;
  // Only the fds we need survive (A has its own copy of Node's fd table).
  int keep[5] = {sock, s.init_pidfd, p.in[0], p.out[1], p.err[1]};
  close_all_except(keep, 5);
  // Into the container's cgroups while still host root; B inherits them. A is single-threaded:
  // "0" into a v1 `tasks` file moves it without the kernel's global threadgroup lock (a pid in
  // cgroup.procs takes it, and an RCU grace period with it).
  char pid_text[24];
  format_int(pid_text, syscall(SYS_getpid));
  for (size_t i = 0; i < s.cgroup_procs.size(); i++) {
    bool v1 = i < s.cgroup_tasks.size() && !s.cgroup_tasks[i].empty();
    const char *file = v1 ? s.cgroup_tasks[i].c_str() : s.cgroup_procs[i].c_str();
    int rc = v1 ? write_file(file, "0", 1) : write_file(file, pid_text, strlen(pid_text));
    if (rc < 0) fail(sock, "join cgroup", file, -rc);
  }
  int ns = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP;
  if (s.userns) ns |= CLONE_NEWUSER;
  if (setns(s.init_pidfd, ns) < 0) fail(sock, "setns", "container namespaces", errno);
  // Root of the container from here on: the pty must belong to the container's devpts users.
  if (raw_setresgid(0) < 0) fail(sock, "setresgid", nullptr, errno);
  if (raw_setgroups(0, nullptr) < 0) fail(sock, "setgroups", nullptr, errno);
  if (raw_setresuid(0) < 0) fail(sock, "setresuid", nullptr, errno);

  int slave = -1;
  if (s.pty) {
    int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) fail(sock, "open", "/dev/ptmx", errno);
    int unlock = 0;
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0) fail(sock, "ioctl(TIOCSPTLCK)", nullptr, errno);
    struct winsize ws = {s.rows, s.cols, 0, 0};
    ioctl(master, TIOCSWINSZ, &ws);
    slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) fail(sock, "ioctl(TIOCGPTPEER)", nullptr, errno);
    if (!is_devpts_pair(master, slave)) fail(sock, "open", "/dev/ptmx is not the container's devpts", EPERM);
    // The command's own user must be able to reopen its terminal (sudo, tmux).
    if (fchown(slave, s.uid, (gid_t)-1) < 0) fail(sock, "fchown", "pty", errno);
    int rc = send_msg(sock, MSG_PTY, nullptr, 0, &master, 1);
    if (rc < 0) fail(sock, "send pty", nullptr, -rc);
    close(master);
  }

  // B is Node's child: Node reaps it and reads its exit status.
  CommandArgs command{&h, slave};
  int pid = clone(command_entry, h.command_stack_top, CLONE_VM | CLONE_PARENT | SIGCHLD, &command);
  if (pid < 0) fail(sock, "clone", "command", errno);
  int32_t pid32 = (int32_t)pid;
  if (send_msg(sock, MSG_PID, &pid32, sizeof pid32, nullptr, 0) < 0) {
    // Without its pid the parent could never reap the command: do not let it run.
    kill((pid_t)pid, SIGKILL);
    _exit(126);
  }
  _exit(0);
}

int helper_entry(void *arg) { helper_child(*static_cast<const HelperArgs *>(arg)); }

}  // namespace

ExecResult exec_in_container(const ExecSpec &spec, const SeccompProgram &seccomp) {
  ExecResult res;
  std::vector<char *> argv = c_strings(spec.argv);
  std::vector<char *> envp = c_strings(spec.env);
  Pipes p;
  if (!spec.pty) {
    if (pipe2(p.in, O_CLOEXEC) < 0 || pipe2(p.out, O_CLOEXEC) < 0 || pipe2(p.err, O_CLOEXEC) < 0) {
      set_failure(&res.failure, "pipe2", nullptr, errno);
      p.close_all();
      return res;
    }
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
    set_failure(&res.failure, "socketpair", nullptr, errno);
    p.close_all();
    return res;
  }

  // Both stacks in one mapping, unmapped only when neither A nor B can run on it any more.
  const size_t stack_size = 128 * 1024;
  char *stacks = static_cast<char *>(
      mmap(nullptr, 2 * stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0));
  if (stacks == MAP_FAILED) {
    set_failure(&res.failure, "mmap", "exec helper stacks", errno);
    p.close_all();
    close(sv[0]);
    close(sv[1]);
    return res;
  }
  HelperArgs h{&spec, &seccomp, argv.data(), envp.data(), sv[1], p, stacks + 2 * stack_size};
  // Every signal blocked around the clone: no Node signal handler may ever run on A's stack.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int helper = clone(helper_entry, stacks + stack_size, CLONE_VM | SIGCHLD, &h);
  int clone_err = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  close(sv[1]);
  for (int fd : {p.in[0], p.out[1], p.err[1]})
    if (fd >= 0) close(fd);
  p.in[0] = p.out[1] = p.err[1] = -1;
  int sock = sv[0];
  if (helper < 0) {
    set_failure(&res.failure, "clone", "exec helper", clone_err);
    munmap(stacks, 2 * stack_size);
    p.close_all();
    close(sock);
    return res;
  }

  auto unmap_stacks = [&]() {
    if (stacks) munmap(stacks, 2 * stack_size), stacks = nullptr;
  };
  int command_pid = -1;
  auto give_up = [&](const char *step, const char *detail, int err) {
    set_failure(&res.failure, step, detail, err);
    if (helper > 0) {
      kill(helper, SIGKILL);
      reap(helper);
    }
    if (command_pid > 0) {
      kill(command_pid, SIGKILL);
      reap(command_pid);
    }
    // Neither can touch its stack any more: A is reaped, B killed and reaped or exec'd.
    unmap_stacks();
    if (res.pty_master >= 0) close(res.pty_master), res.pty_master = -1;
    p.close_all();
    if (sock >= 0) close(sock), sock = -1;
    return res;
  };

  // Read until EOF even after a failure: the command's pid may still be on its way, and a
  // command the parent does not know about could never be reaped.
  ChildReports rep;
  const char *step = "";
  int rc = collect_reports(sock, &rep, &step);
  command_pid = rep.pid;
  res.pty_master = rep.pty_fd;
  if (rep.pid_fd >= 0) close(rep.pid_fd);
  if (rc < 0) return give_up(step, nullptr, -rc);
  if (rep.failure.err) return give_up(rep.failure.step, nullptr, rep.failure.err);
  reap(helper);
  close(sock);
  sock = -1;
  helper = -1;
  if (command_pid <= 0) return give_up("exec helper", "no command pid", EPROTO);
  // EOF: A has exited and B has exec'd (or died), so the stacks are free.
  unmap_stacks();
  res.pidfd = sys_pidfd_open(command_pid, 0);
  if (res.pidfd < 0) return give_up("pidfd_open", "command", errno);
  res.pid = command_pid;
  if (!spec.pty) {
    res.stdin_fd = p.in[1];
    res.stdout_fd = p.out[0];
    res.stderr_fd = p.err[0];
  }
  return res;
}

}  // namespace lodge
