// Shared declarations of the native addon. The addon does only what must happen between
// clone() and exec(): namespaces, id maps, mounts, pivot_root, cgroup join, capabilities,
// seccomp, pty. Everything else (cgroup limits, planning mounts, validation) is TypeScript.
//
// Rule for every function marked CHILD: it runs in a process forked from the multi-threaded
// Node process, so it may use only async-signal-safe calls (raw syscalls, no malloc, no locks,
// no stdio). It reports failure through Failure (step text + errno) over the sync socket.
#pragma once

#include <linux/sched.h>
#include <stdint.h>
#include <string>
#include <vector>

namespace lodge {

// A failure with the step that failed and errno, e.g. {"pivot_root", EINVAL}.
struct Failure {
  char step[192];
  int err;  // errno value; 0 = no failure
};

// CHILD-safe: fill a Failure from a step text and up to one detail string ("mount /proc").
void set_failure(Failure *f, const char *step, const char *detail, int err);

// Symbolic errno name ("EINVAL"); "E<number>" when unknown.
std::string errno_name(int err);

// ---- sync socket (SOCK_SEQPACKET): one message = a fixed header + payload + optional fds ----
enum MsgType : uint32_t {
  MSG_GO = 1,        // parent -> child: id maps and cgroups are in place; carries mount fds
  MSG_FAILURE = 2,   // child -> parent: payload is a Failure
  MSG_PID = 3,       // helper -> parent: payload is the grandchild's pid (int32)
  MSG_PTY = 4,       // helper -> parent: carries the pty master fd
  MSG_HELD = 5,      // init -> parent: set up by S, waiting for GO before it goes on (spawn hold)
};

// CHILD-safe send/receive. Return 0 on success, -errno on failure. recv_msg returns 1 on EOF.
int send_msg(int sock, uint32_t type, const void *data, uint32_t len, const int *fds, int nfds);
int recv_msg(int sock, uint32_t *type, void *data, uint32_t cap, uint32_t *len, int *fds, int maxfds,
             int *nfds);

// Parent-side: wait until sock is readable, at most timeout_ms. 0, -ETIMEDOUT or -errno.
int wait_readable(int sock, int timeout_ms);
// How long the parent waits for a child's next word before it gives up and kills it: a healthy
// spawn or exec answers in milliseconds; a rootfs on a stuck filesystem must not pin a worker.
constexpr int kChildReplyTimeoutMs = 30000;

// What the children of a spawn or an exec reported to the parent.
struct ChildReports {
  int pid = -1;      // MSG_PID: the process the parent must track and reap
  int pid_fd = -1;   // the fd sent with MSG_PID (a pidfd), if any
  int pty_fd = -1;   // MSG_PTY: the pty master
  Failure failure{}; // the first MSG_FAILURE (failure.err == 0: none)
  bool stop_at_held = false;  // in: return as soon as MSG_HELD arrives
  bool held = false;          // out: MSG_HELD arrived
};

// Parent-side: reads the children's reports until EOF (every child's end closed: each exited or
// exec'd), also after a failure, so a pid on its way is never lost. Waits at most
// kChildReplyTimeoutMs for each message. Returns 0, or -errno (-ETIMEDOUT, -EPROTO for an
// unexpected message) with *step naming what failed; what was received stays in *out for the
// caller to clean up. With out->stop_at_held it returns at MSG_HELD (out->held) instead of EOF.
int collect_reports(int sock, ChildReports *out, const char **step);

// CHILD-safe: close every fd above 2 except those in keep (at most 16): nothing of the Node
// process survives into a child beyond what it needs.
void close_all_except(const int *keep, int n);

// CHILD-safe: report a failure to the parent and _exit(127).
[[noreturn]] void child_fail(int sock, const Failure &f);

// CHILD-safe decimal formatting into buf (returns buf).
char *format_int(char *buf, long value);
// CHILD-safe "/proc/self/fd/<fd>" into buf (>= 32 bytes).
const char *fd_path(char *buf, int fd);

// ---- confinement (confine.cc) ----
struct ConfineSpec {
  bool seccomp = true;              // load Lodge's default deny filter
  std::vector<int> drop_caps;       // capability numbers removed from bounding/eff/perm/inh sets
};
// Parent-side: build the BPF program once (heap use allowed here).
struct SeccompProgram {
  std::vector<uint64_t> raw;  // struct sock_filter entries, 8 bytes each
};
SeccompProgram build_default_seccomp();
// CHILD-safe, before the final id change: load seccomp, drop from the bounding set. 0 or fills *f.
int confine_before_ids(const ConfineSpec &spec, const SeccompProgram &prog, Failure *f);
// CHILD-safe, after the final id change: remove the dropped capabilities from the effective,
// permitted and inheritable sets and clear the ambient set. 0 or fills *f.
int drop_capabilities(const ConfineSpec &spec, Failure *f);

// ---- mounts (mounts.cc) ----
enum MountKind : int {
  MOUNT_FS = 0,       // mount(source, target, fstype, flags, data)
  MOUNT_BIND = 1,     // bind a host path (or an idmapped detached mount, see idmap_index)
  MOUNT_SYMLINK = 2,  // symlink target -> link_to
  MOUNT_MKDIR = 3,    // make a directory (mode in `mode`)
};
enum MkdirKind : int { MKDIR_NONE = 0, MKDIR_DIR = 1, MKDIR_FILE = 2 };

// Who executes a mount. The setup stage runs as host root in a mount namespace owned by the
// host: binds of host paths and the tmpfs trees they live in. The container then copies that
// namespace into its own user namespace, and the kernel locks every copied mount (read-only
// stays read-only, nothing can be unmounted to reveal what is below). The container stage runs
// as container root: filesystems that belong to the container's namespaces (proc, sysfs,
// cgroup, devpts, mqueue).
enum MountStage : int { MOUNT_STAGE_SETUP = 0, MOUNT_STAGE_CONTAINER = 1 };

// Where the mount plan runs.
struct MountContext {
  int root_fd;         // O_PATH fd of the new root
  int stage;           // which entries to run
  int userns_fd;       // the container's user namespace (idmapped binds), or -1
  int creator_uid;     // setup stage: files and directories are created as this host uid, or -1
  int creator_gid;
};

struct MountSpec {
  int kind = MOUNT_FS;
  std::string source;   // host absolute path (bind) or fs source name
  std::string target;   // path inside the new root
  std::string fstype;
  std::string data;
  unsigned long flags = 0;
  int mkdir = MKDIR_NONE;
  int mode = 0755;
  bool readonly = false;   // binds: read-only (locked by the namespace copy when done in the setup stage)
  bool recursive = false;  // binds: the submounts too
  bool optional = false;   // a missing source is not an error
  bool idmap = false;      // binds: shift host ownership into the container's user namespace
  bool source_in_root = false;  // binds: source is a path inside the new root, resolved there
  int stage = 1;           // MOUNT_STAGE_SETUP or MOUNT_STAGE_CONTAINER
  std::string link_to;     // symlinks
};

// CHILD-safe: run the plan's entries of ctx.stage below ctx.root_fd. 0 or fills *f.
int apply_mounts(const MountContext &ctx, const std::vector<MountSpec> &mounts, Failure *f);

// ---- process helpers (process.cc) ----
int sys_pidfd_open(int pid, unsigned flags);
int sys_pidfd_send_signal(int pidfd, int sig);
long sys_clone3(void *args, unsigned long size);
int sys_open_tree(int dfd, const char *path, unsigned flags);
int sys_move_mount(int from_dfd, const char *from, int to_dfd, const char *to, unsigned flags);
int sys_mount_setattr(int dfd, const char *path, unsigned flags, void *attr, unsigned long size);

// Parent-side: argv/envp arrays pointing into `v` (NULL-terminated); valid while v lives.
std::vector<char *> c_strings(const std::vector<std::string> &v);

// Parent-side: waitpid, retried on EINTR.
void reap(int pid);

// Parent-side: clone3 with every signal blocked around it, so no Node signal handler can run in
// the child before it resets its signals. Returns like clone3 (0 in the child).
long clone3_signals_blocked(struct clone_args *args);

// Parent-side: write text to a file (e.g. uid_map, cgroup.procs). 0 or -errno.
int write_file(const char *path, const char *data, size_t len);

// CHILD-safe: a detached clone of dfd/path (open_tree), idmapped through userns_fd when >= 0
// and read-only when asked. Returns fd >= 0 or -errno; *step names the failing call.
int make_detached_mount(int dfd, const char *path, int userns_fd, bool recursive, bool readonly, const char **step);

}  // namespace lodge
