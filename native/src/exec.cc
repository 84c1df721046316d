// Running a command inside a running container. Node cannot setns() itself (it is
// multi-threaded), so:
//   parent (worker thread): clone3 -> helper A; move A into the container's cgroups -> GO
//   A: setns(init pidfd, every namespace) -> become the target user -> [open the container's
//      /dev/ptmx, send the master back] -> clone3(CLONE_PARENT) -> B -> report B's pid -> exit
//   B: (a child of Node, inside the container's pid namespace) stdio -> confinement -> ids ->
//      execve; an exec failure travels back over the same socket.
// The parent reads until EOF (A exited and B exec'd: both ends are close-on-exec).
#include "exec.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
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

[[noreturn]] void helper_child(const ExecSpec &s, const SeccompProgram &seccomp, char *const *argv,
                               char *const *envp, int sock, Pipes &p) {
  // Until execve this process holds a copy of Node's memory: nobody in the container may read
  // it (it shows up in the container's pid namespace), and only the fds we need survive.
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  int keep[5] = {sock, s.init_pidfd, p.in[0], p.out[1], p.err[1]};
  close_all_except(keep, 5);
  int ns = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP;
  if (s.userns) ns |= CLONE_NEWUSER;
  if (setns(s.init_pidfd, ns) < 0) fail(sock, "setns", "container namespaces", errno);
  // Root of the container from here on: the pty must belong to the container's devpts users.
  if (raw_setresgid(0) < 0) fail(sock, "setresgid", nullptr, errno);
  if (raw_setgroups(0, nullptr) < 0) fail(sock, "setgroups", nullptr, errno);
  if (raw_setresuid(0) < 0) fail(sock, "setresuid", nullptr, errno);

  uint32_t type = 0;
  if (recv_msg(sock, &type, nullptr, 0, nullptr, nullptr, 0, nullptr) != 0 || type != MSG_GO) _exit(126);

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

  struct clone_args args;
  memset(&args, 0, sizeof args);
  args.flags = CLONE_PARENT;  // B is Node's child: Node reaps it and reads its exit status
  long pid = sys_clone3(&args, sizeof args);
  if (pid == 0) command_child(s, seccomp, argv, envp, sock, slave, p);
  if (pid < 0) fail(sock, "clone3", "command", errno);
  int32_t pid32 = (int32_t)pid;
  if (send_msg(sock, MSG_PID, &pid32, sizeof pid32, nullptr, 0) < 0) {
    // Without its pid the parent could never reap the command: do not let it run.
    kill((pid_t)pid, SIGKILL);
    _exit(126);
  }
  _exit(0);
}

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

  struct clone_args args;
  memset(&args, 0, sizeof args);
  args.exit_signal = SIGCHLD;
  long helper = clone3_signals_blocked(&args);
  if (helper == 0) {
    close(sv[0]);
    helper_child(spec, seccomp, argv.data(), envp.data(), sv[1], p);
  }
  int clone_err = errno;
  close(sv[1]);
  for (int fd : {p.in[0], p.out[1], p.err[1]})
    if (fd >= 0) close(fd);
  p.in[0] = p.out[1] = p.err[1] = -1;
  int sock = sv[0];
  if (helper < 0) {
    set_failure(&res.failure, "clone3", "exec helper", clone_err);
    p.close_all();
    close(sock);
    return res;
  }

  int command_pid = -1;
  auto give_up = [&](const char *step, const char *detail, int err) {
    set_failure(&res.failure, step, detail, err);
    if (helper > 0) {
      kill((int)helper, SIGKILL);
      reap((int)helper);
    }
    if (command_pid > 0) {
      kill(command_pid, SIGKILL);
      reap(command_pid);
    }
    if (res.pty_master >= 0) close(res.pty_master), res.pty_master = -1;
    p.close_all();
    if (sock >= 0) close(sock), sock = -1;
    return res;
  };

  std::string pid_text = std::to_string(helper);
  for (const auto &procs : spec.cgroup_procs) {
    int rc = write_file(procs.c_str(), pid_text.data(), pid_text.size());
    if (rc < 0) return give_up("join cgroup", procs.c_str(), -rc);
  }
  int rc = send_msg(sock, MSG_GO, nullptr, 0, nullptr, 0);
  if (rc < 0) {
    // The helper already failed (e.g. setns): its failure message is waiting.
    uint32_t type = 0;
    Failure f{};
    if (recv_msg(sock, &type, &f, sizeof f, nullptr, nullptr, 0, nullptr) == 0 && type == MSG_FAILURE) {
      f.step[sizeof f.step - 1] = '\0';
      return give_up(f.step, nullptr, f.err);
    }
    return give_up("send GO", nullptr, -rc);
  }

  // Read until EOF even after a failure: the command's pid may still be on its way, and a
  // command the parent does not know about could never be reaped.
  ChildReports rep;
  const char *step = "";
  rc = collect_reports(sock, &rep, &step);
  command_pid = rep.pid;
  res.pty_master = rep.pty_fd;
  if (rep.pid_fd >= 0) close(rep.pid_fd);
  if (rc < 0) return give_up(step, nullptr, -rc);
  if (rep.failure.err) return give_up(rep.failure.step, nullptr, rep.failure.err);
  reap((int)helper);
  close(sock);
  sock = -1;
  helper = -1;
  if (command_pid <= 0) return give_up("exec helper", "no command pid", EPROTO);
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
