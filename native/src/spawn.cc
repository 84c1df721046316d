// Creating a system container's init, in two processes:
//
//   parent (a Node worker thread): clone(CLONE_VM | CLONE_VFORK | CLONE_NEWNS) -> setup process
//      S on its own stack, as posix_spawn does: no copy of Node's page tables, and the worker
//      sleeps until S is done. S has a private mount namespace owned by the host.
//   S  clone(CLONE_VM; user, pid, uts, ipc, net namespaces; CLONE_PARENT) -> init I on a stack
//      of its own, a child of Node that still shares S's mount namespace and, until its execve,
//      Node's memory (a copy of Node's page tables cost 5-14 ms in a daemon with a large heap); I's pid and pidfd go to the parent's socket first, so
//      the parent can always reap I. Then S, as host root: I's gid_map/uid_map, I into its
//      cgroups, the rootfs (idmapped through I's user namespace), the setup-stage mounts (tmpfs
//      /dev, /run, /dev/shm, device nodes, console, the caller's binds) -> GO to I -> exit.
//   I  unshare(CLONE_NEWNS): the copy into I's user namespace locks every mount S made ->
//      new cgroup namespace -> container root -> container-stage mounts (proc, sysfs, cgroup,
//      devpts, mqueue) -> hostname -> pivot_root -> stdio -> confinement -> execve
//   parent: reads the socket until EOF (I's end closes at execve); a Failure from S or I means
//      nothing is left: I is killed and reaped.
//
// S and I share Node's memory: each touches only its own stack and reads the spec (built before
// the clone, never changed until spawn_container returns); they never allocate. The parent unmaps
// I's stack only once I has exec'd or is dead. Node's mm is not dumpable (see addon Init), so no
// process in the container's user namespace can read or write the memory I shares with Node.
#include "spawn.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/mount.h>
#include <linux/sched.h>
#include <sched.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <memory>
#include <mutex>
#include <unordered_map>

#include "child_common.h"

namespace lodge {

namespace {

struct ChildArgs {
  const SpawnSpec *spec;
  const SeccompProgram *seccomp;
  char *const *argv;
  char *const *envp;
  int sock;  // to the parent
  char *init_stack_top;  // I's stack, mapped by the parent
};

constexpr int kMaxCgroupFiles = 32;

struct InitArgs {
  const ChildArgs *child;
  int setup_sock;  // from S: GO
  int setup_end;   // S's end: closed in I, so I sees EOF if S dies
  // v1 `tasks` files S opened (as host root) for I to join its cgroups itself; -1 where the
  // hierarchy is v2 and S writes I's pid into cgroup.procs instead
  const int *task_fds;
  int n_task_fds;
};

[[noreturn]] void fail(int sock, const char *step, const char *detail, int err) {
  Failure f{};
  set_failure(&f, step, detail, err);
  child_fail(sock, f);
}

// Waits for GO on `sock`; anything else (the sender died) ends this process quietly.
void wait_go(int sock) {
  uint32_t type = 0;
  if (recv_msg(sock, &type, nullptr, 0, nullptr, nullptr, 0, nullptr) != 0 || type != MSG_GO) _exit(126);
}

// I: the container's init until execve.
[[noreturn]] void init_child(const ChildArgs &a, int setup_sock, const int *task_fds, int n_task_fds) {
  const SpawnSpec &s = *a.spec;
  int sock = a.sock;
  wait_go(setup_sock);
  close(setup_sock);
  // Into the cgroups, by ourselves: "0" written to a v1 `tasks` file moves just the writing
  // thread, which the kernel does without the global threadgroup lock (a pid written to
  // cgroup.procs takes it, and with it an RCU grace period: about 5 ms per start here). I is
  // single-threaded, so this moves the whole process. The files were opened by S as host root.
  for (int i = 0; i < n_task_fds; i++) {
    if (task_fds[i] < 0) continue;
    if (write(task_fds[i], "0", 1) != 1) fail(sock, "join cgroup", s.cgroup_tasks[i].c_str(), errno);
    close(task_fds[i]);
  }
  if (s.hold) {
    // Namespaces, id maps and cgroups exist; nothing of ours has run in them yet. The parent
    // sets up what must be there from the start, then says GO (or closes the socket: we end).
    int rc = send_msg(sock, MSG_HELD, nullptr, 0, nullptr, 0);
    if (rc < 0) _exit(126);
    wait_go(sock);
  }

  // Our own copy of the mount namespace S prepared, owned by our user namespace.
  if (unshare(CLONE_NEWNS) < 0) fail(sock, "unshare(CLONE_NEWNS)", nullptr, errno);
  // The parent has moved us into the container's cgroup: it becomes the namespace root.
  if (unshare(CLONE_NEWCGROUP) < 0) fail(sock, "unshare(CLONE_NEWCGROUP)", nullptr, errno);
  // A bind of the prepared root onto itself: a mount of our own (unlocked, so pivot_root can
  // move it) whose submounts stay locked copies. Done with the host uid 0 still ours, since
  // the rootfs path may run through directories only host root may enter.
  const char *rootfs = s.rootfs.c_str();
  if (mount(rootfs, rootfs, nullptr, MS_BIND | MS_REC, nullptr) < 0) fail(sock, "mount", "bind rootfs", errno);
  int root_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) fail(sock, "open", "rootfs", errno);

  if (s.userns) {
    if (raw_setresgid(0) < 0) fail(sock, "setresgid", nullptr, errno);
    if (raw_setgroups(0, nullptr) < 0) fail(sock, "setgroups", nullptr, errno);
    if (raw_setresuid(0) < 0) fail(sock, "setresuid", nullptr, errno);
  }
  // If Node dies before init runs, a half-made container must not live on (the id change
  // above cleared this, so it is set here; it is cleared again right before execve).
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  Failure f{};
  MountContext ctx{root_fd, MOUNT_STAGE_CONTAINER, -1, -1, -1};
  if (apply_mounts(ctx, s.mounts, &f) < 0) child_fail(sock, f);
  if (!s.hostname.empty() && sethostname(s.hostname.c_str(), s.hostname.size()) < 0)
    fail(sock, "sethostname", nullptr, errno);

  if (fchdir(root_fd) < 0) fail(sock, "fchdir", "rootfs", errno);
  if (syscall(SYS_pivot_root, ".", ".") < 0) fail(sock, "pivot_root", nullptr, errno);
  if (umount2(".", MNT_DETACH) < 0) fail(sock, "umount2", "old root", errno);
  if (chdir("/") < 0) fail(sock, "chdir", "/", errno);
  close(root_fd);

  if (setsid() < 0) fail(sock, "setsid", nullptr, errno);
  if (s.console_fd >= 0) {
    if (dup2(s.console_fd, 1) < 0 || dup2(s.console_fd, 2) < 0) fail(sock, "dup2", "console", errno);
  }
  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0) fail(sock, "open", "/dev/null", errno);
  if (dup2(null_fd, 0) < 0) fail(sock, "dup2", "stdin", errno);
  if (s.console_fd < 0 && (dup2(null_fd, 1) < 0 || dup2(null_fd, 2) < 0)) fail(sock, "dup2", "stdout", errno);
  // Nothing of the Node process may leak into the container.
  if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) fail(sock, "close_range", nullptr, errno);
  if (chdir(s.cwd.c_str()) < 0) fail(sock, "chdir", s.cwd.c_str(), errno);

  reset_signals();
  if (confine_before_ids(s.confine, *a.seccomp, &f) < 0 || drop_capabilities(s.confine, &f) < 0) child_fail(sock, f);
  prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  execve(a.argv[0], a.argv, a.envp);
  fail(sock, "execve", a.argv[0], errno);
}

// Appends text to a stack buffer (async-signal-safe string building).
size_t append(char *buf, size_t cap, size_t pos, const char *text) {
  while (*text && pos + 1 < cap) buf[pos++] = *text++;
  buf[pos] = '\0';
  return pos;
}

// "/proc/<pid>/<leaf>" into buf.
const char *proc_path(char *buf, size_t cap, long pid, const char *leaf) {
  char num[24];
  size_t n = append(buf, cap, 0, "/proc/");
  n = append(buf, cap, n, format_int(num, pid));
  append(buf, cap, n, leaf);
  return buf;
}

int init_entry(void *arg) {
  const InitArgs &init = *static_cast<const InitArgs *>(arg);
  close(init.setup_end);
  init_child(*init.child, init.setup_sock, init.task_fds, init.n_task_fds);
}

// S: makes I, then the setup stage as host root, then leaves.
[[noreturn]] void setup_child(const ChildArgs &a) {
  const SpawnSpec &s = *a.spec;
  int sock = a.sock;
  // Only the socket and the console survive from Node's fd table, into S and so into I.
  int keep[2] = {sock, s.console_fd};
  close_all_except(keep, 2);
  // A stuck filesystem must not keep the parent's worker asleep forever: S dies after 30 s.
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigaction(SIGALRM, &dfl, nullptr);
  sigset_t alrm;
  sigemptyset(&alrm);
  sigaddset(&alrm, SIGALRM);
  syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &alrm, nullptr, sizeof(uint64_t));
  alarm(kChildReplyTimeoutMs / 1000);
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) fail(sock, "mount", "make / private", errno);

  int sp[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) fail(sock, "socketpair", nullptr, errno);
  uint64_t flags = CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_PARENT | CLONE_PIDFD;
  if (s.userns) flags |= CLONE_NEWUSER;
  if (s.netns_fd < 0) flags |= CLONE_NEWNET;
  int pidfd = -1;
  int task_fds[kMaxCgroupFiles];
  int n_task_fds = (int)s.cgroup_tasks.size();
  if (n_task_fds > kMaxCgroupFiles) fail(sock, "join cgroup", "too many cgroup hierarchies", E2BIG);
  for (int i = 0; i < n_task_fds; i++) {
    task_fds[i] = -1;
    if (s.cgroup_tasks[i].empty()) continue;
    task_fds[i] = open(s.cgroup_tasks[i].c_str(), O_WRONLY | O_CLOEXEC);
    if (task_fds[i] < 0) fail(sock, "open", s.cgroup_tasks[i].c_str(), errno);
  }
  InitArgs init{&a, sp[1], sp[0], task_fds, n_task_fds};
  long pid = clone(init_entry, a.init_stack_top, (int)(flags | CLONE_VM | SIGCHLD), &init, &pidfd);
  if (pid < 0) fail(sock, "clone", "container init", errno);
  close(sp[1]);
  // First of all: the parent learns I, so it can reap it whatever happens next.
  int32_t pid32 = (int32_t)pid;
  int rc = send_msg(sock, MSG_PID, &pid32, sizeof pid32, &pidfd, 1);
  if (rc < 0) {
    sys_pidfd_send_signal(pidfd, SIGKILL);
    _exit(126);
  }
  close(pidfd);

  char path[64];
  if (s.userns) {
    rc = write_file(proc_path(path, sizeof path, pid, "/gid_map"), s.gid_map.data(), s.gid_map.size());
    if (rc < 0) fail(sock, "write gid_map", nullptr, -rc);
    rc = write_file(proc_path(path, sizeof path, pid, "/uid_map"), s.uid_map.data(), s.uid_map.size());
    if (rc < 0) fail(sock, "write uid_map", nullptr, -rc);
  }
  char pid_text[24];
  format_int(pid_text, pid);
  for (size_t i = 0; i < s.cgroup_procs.size(); i++) {
    if (task_fds[i] >= 0) {
      close(task_fds[i]);  // I's copy is the one it writes
      continue;
    }
    rc = write_file(s.cgroup_procs[i].c_str(), pid_text, strlen(pid_text));
    if (rc < 0) fail(sock, "join cgroup", s.cgroup_procs[i].c_str(), -rc);
  }

  int userns_fd = -1;
  if (s.userns) {
    userns_fd = open(proc_path(path, sizeof path, pid, "/ns/user"), O_RDONLY | O_CLOEXEC);
    if (userns_fd < 0) fail(sock, "open", "user namespace", errno);
  }
  const char *rootfs = s.rootfs.c_str();
  if (!s.overlay_lower.empty()) {
    // Overlayfs cannot itself be idmapped, but its layers can: the image is shown to the
    // container through an idmapped lower layer, untouched; writes go to the upper layer.
    const char *step = "";
    int fd = make_detached_mount(AT_FDCWD, s.overlay_lower.c_str(), userns_fd, true, true, &step);
    if (fd < 0) fail(sock, step, "overlay lower layer", -fd);
    if (sys_move_mount(fd, "", AT_FDCWD, s.overlay_lower_mount.c_str(), MOVE_MOUNT_F_EMPTY_PATH) < 0)
      fail(sock, "move_mount", "overlay lower layer", errno);
    close(fd);
    // The overlay's root takes the upper directory's owner: the container's root.
    if (s.userns && lchown(s.overlay_upper.c_str(), s.root_uid, s.root_gid) < 0) fail(sock, "lchown", "overlay upper layer", errno);
    if (mount("overlay", rootfs, "overlay", 0, s.overlay_data.c_str()) < 0) fail(sock, "mount", "overlay rootfs", errno);
  } else if (s.idmap_rootfs) {
    const char *step = "";
    int fd = make_detached_mount(AT_FDCWD, rootfs, userns_fd, true, false, &step);
    if (fd < 0) fail(sock, step, "rootfs", -fd);
    if (sys_move_mount(fd, "", AT_FDCWD, rootfs, MOVE_MOUNT_F_EMPTY_PATH) < 0)
      fail(sock, "move_mount", "idmapped rootfs", errno);
    close(fd);
  } else if (mount(rootfs, rootfs, nullptr, MS_BIND | MS_REC, nullptr) < 0) {
    fail(sock, "mount", "bind rootfs", errno);
  }
  int root_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) fail(sock, "open", "rootfs", errno);
  Failure f{};
  MountContext ctx{root_fd, MOUNT_STAGE_SETUP, userns_fd, s.userns ? s.root_uid : -1, s.userns ? s.root_gid : -1};
  if (apply_mounts(ctx, s.mounts, &f) < 0) child_fail(sock, f);
  rc = send_msg(sp[0], MSG_GO, nullptr, 0, nullptr, 0);
  if (rc < 0) fail(sock, "send GO", "container init", -rc);
  _exit(0);
}

// What the setup process and init read of the spawn, in one place that lives as long as init
// may read it (see spawn_container).
struct InitState {
  SpawnSpec spec;
  std::vector<char *> argv, envp;
  ChildArgs args{};
};

int setup_entry(void *arg) { setup_child(*static_cast<const ChildArgs *>(arg)); }

void kill_and_reap(int pid, int pidfd) {
  if (pidfd >= 0) sys_pidfd_send_signal(pidfd, SIGKILL);
  else kill(pid, SIGKILL);
  reap(pid);
}

// Inits waiting in a hold, by token (the parent's end of their socket, unique while open). Each
// keeps its stack mapped until it has exec'd or is dead.
struct Held {
  int pid;
  int pidfd;  // the caller's: never closed here
  int sock;
  char *stacks;
  size_t stacks_size;
  InitState *state;  // what init reads until its execve
};
std::mutex held_lock;
std::unordered_map<int, Held> held_inits;

bool take_held(int token, Held *out) {
  std::lock_guard<std::mutex> g(held_lock);
  auto it = held_inits.find(token);
  if (it == held_inits.end()) return false;
  *out = it->second;
  held_inits.erase(it);
  return true;
}

// Kill, reap, then free what the held init used.
void end_held(const Held &h) {
  kill_and_reap(h.pid, h.pidfd);
  munmap(h.stacks, h.stacks_size);
  delete h.state;
  close(h.sock);
}

}  // namespace

SpawnResult resume_spawn(const ResumeSpec &spec, const SeccompProgram &) {
  SpawnResult res;
  Held h;
  if (!take_held(spec.hold, &h)) {
    set_failure(&res.failure, "resume", "no container init is held with this token", EINVAL);
    return res;
  }
  int rc = send_msg(h.sock, MSG_GO, nullptr, 0, nullptr, 0);
  if (rc < 0) {
    set_failure(&res.failure, "send GO", "container init", -rc);
    end_held(h);
    return res;
  }
  // Until EOF: init's end closes at execve; a Failure means it did not get there.
  ChildReports rep;
  const char *step = "";
  rc = collect_reports(h.sock, &rep, &step);
  if (rep.pid_fd >= 0) close(rep.pid_fd);
  if (rep.pty_fd >= 0) close(rep.pty_fd);
  if (rc < 0 || rep.failure.err) {
    if (rc < 0) set_failure(&res.failure, step, nullptr, -rc);
    else res.failure = rep.failure;
    end_held(h);
    return res;
  }
  siginfo_t si;
  memset(&si, 0, sizeof si);
  if (waitid((idtype_t)P_PIDFD, (id_t)h.pidfd, &si, WEXITED | WNOHANG | WNOWAIT | __WALL) == 0 && si.si_pid != 0 &&
      si.si_code != CLD_EXITED) {
    set_failure(&res.failure, "container init", "killed during start", EINTR);
    end_held(h);
    return res;
  }
  // EOF: init has exec'd, so its stack and what it read are free.
  munmap(h.stacks, h.stacks_size);
  delete h.state;
  close(h.sock);
  res.pid = h.pid;
  res.pidfd = h.pidfd;
  return res;
}

void abort_spawn(int hold) {
  Held h;
  if (take_held(hold, &h)) end_held(h);
}

SpawnResult spawn_container(const SpawnSpec &given, const SeccompProgram &seccomp) {
  SpawnResult res;
  // Everything I reads until its execve, owned apart from the caller's spec: a held init goes on
  // reading it after this function (and the worker that called it) have returned.
  auto state = std::make_unique<InitState>();
  state->spec = given;
  const SpawnSpec &spec = state->spec;
  state->argv = c_strings(spec.argv);
  state->envp = c_strings(spec.env);

  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
    set_failure(&res.failure, "socketpair", nullptr, errno);
    return res;
  }

  // Joining a given network namespace: switch this thread into it so the children inherit it,
  // then switch back. Namespaces are per thread, so the rest of Node is unaffected.
  int host_net = -1;
  if (spec.netns_fd >= 0) {
    host_net = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (host_net < 0 || setns(spec.netns_fd, CLONE_NEWNET) < 0) {
      set_failure(&res.failure, "setns", "network namespace", errno);
      if (host_net >= 0) close(host_net);
      close(sv[0]);
      close(sv[1]);
      return res;
    }
  }

  // S runs on its own stack, in Node's memory, while this thread sleeps (CLONE_VFORK); I runs on
  // the second one until its execve. One mapping, unmapped only when I can no longer run on it.
  const size_t stack_size = 256 * 1024;
  char *stacks = static_cast<char *>(
      mmap(nullptr, 2 * stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0));
  if (stacks == MAP_FAILED) {
    set_failure(&res.failure, "mmap", "setup stacks", errno);
    if (host_net >= 0) {
      if (setns(host_net, CLONE_NEWNET) < 0) abort();
      close(host_net);
    }
    close(sv[0]);
    close(sv[1]);
    return res;
  }
  auto unmap_stacks = [&]() {
    if (stacks) munmap(stacks, 2 * stack_size), stacks = nullptr;
  };
  state->args = ChildArgs{&spec, &seccomp, state->argv.data(), state->envp.data(), sv[1], stacks + 2 * stack_size};
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int setup = clone(setup_entry, stacks + stack_size, CLONE_VM | CLONE_VFORK | CLONE_NEWNS | SIGCHLD, &state->args);
  int clone_err = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (host_net >= 0) {
    if (setns(host_net, CLONE_NEWNET) < 0) {
      // This worker thread would stay in the container's network; never continue like that.
      abort();
    }
    close(host_net);
  }
  close(sv[1]);
  int sock = sv[0];
  if (setup < 0) {
    set_failure(&res.failure, "clone", "setup process", clone_err);
    unmap_stacks();
    close(sock);
    return res;
  }
  // S has finished (exited or died): reap it; what it did is in the socket.
  reap(setup);

  int pid = -1, pidfd = -1;
  auto give_up = [&](const char *step, const char *detail, int err) {
    if (step) set_failure(&res.failure, step, detail, err);
    if (pid > 0) kill_and_reap(pid, pidfd);
    if (pidfd >= 0) close(pidfd);
    unmap_stacks();  // I is dead (or never ran): nothing runs on its stack
    close(sock);
    return res;
  };

  // Until EOF: I's pid and pidfd from S, then EOF when I exec'd, or a Failure from S or I; with a
  // hold, until I says it is held.
  ChildReports rep;
  rep.stop_at_held = spec.hold;
  const char *step = "";
  int rc = collect_reports(sock, &rep, &step);
  pid = rep.pid;
  pidfd = rep.pid_fd;
  if (rep.pty_fd >= 0) close(rep.pty_fd);
  if (rc < 0) return give_up(step, nullptr, -rc);
  if (rep.failure.err) {
    res.failure = rep.failure;
    return give_up(nullptr, nullptr, 0);
  }
  if (pid < 0 || pidfd < 0) return give_up("setup process", "ended without a word", ECHILD);
  if (rep.held) {
    // I waits for GO on its end of this socket, on its stack: both stay until resume or abort.
    std::lock_guard<std::mutex> g(held_lock);
    held_inits[sock] = Held{pid, pidfd, sock, stacks, 2 * stack_size, state.release()};
    res.pid = pid;
    res.pidfd = pidfd;
    res.hold = sock;
    return res;
  }
  if (spec.hold) return give_up("container init", "ended before it was held", ECHILD);
  // EOF: I has exec'd (its end is close-on-exec) or is dead, so its stack is free.
  unmap_stacks();
  // EOF also comes from a child killed before it could say anything (e.g. by the OOM killer).
  // A child that fails on its own always sends a Failure first, so an init that has already
  // exited normally did run (an init that exits at once): that is left to the exit watcher.
  siginfo_t si;
  memset(&si, 0, sizeof si);
  if (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED | WNOHANG | WNOWAIT | __WALL) == 0 && si.si_pid != 0 &&
      si.si_code != CLD_EXITED) {
    return give_up("container init", "killed during start", EINTR);
  }
  close(sock);
  res.pid = pid;
  res.pidfd = pidfd;
  return res;
}

}  // namespace lodge
