// CHILD side: executes the mount plan TypeScript computed, below the new root, before
// pivot_root. Every target is resolved with openat2(RESOLVE_IN_ROOT), so symlinks in an
// untrusted rootfs can never point a mount at a host path; the mount then goes onto the
// resolved object through /proc/self/fd/N.
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace lodge {

namespace {

int resolve_in_root(int root_fd, const char *rel, int flags) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = (uint64_t)(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  for (;;) {
    long fd = syscall(SYS_openat2, root_fd, rel, &how, sizeof how);
    if (fd >= 0 || errno != EAGAIN) return (int)fd;
  }
}

// Strip leading slashes: every target is relative to the new root.
const char *relative(const char *path) {
  while (*path == '/') path++;
  return *path ? path : ".";
}

// mkdir -p below root, component by component, each resolved inside the root.
int make_dirs(int root_fd, const char *rel, int mode) {
  char buf[4096];
  size_t len = strlen(rel);
  if (len >= sizeof buf) return -ENAMETOOLONG;
  memcpy(buf, rel, len + 1);
  for (size_t i = 0; i <= len; i++) {
    if (buf[i] != '/' && buf[i] != '\0') continue;
    char saved = buf[i];
    buf[i] = '\0';
    if (i > 0 && buf[i - 1] != '/') {
      // split into parent and name
      char *slash = strrchr(buf, '/');
      int parent = slash ? (*slash = '\0', resolve_in_root(root_fd, buf, O_PATH | O_DIRECTORY))
                         : resolve_in_root(root_fd, ".", O_PATH | O_DIRECTORY);
      const char *name = slash ? slash + 1 : buf;
      if (parent < 0) return -errno;
      int rc = mkdirat(parent, name, (mode_t)mode);
      int err = errno;
      close(parent);
      if (slash) *slash = '/';
      if (rc < 0 && err != EEXIST) return -err;
    }
    buf[i] = saved;
  }
  return 0;
}

int make_file(int root_fd, const char *rel) {
  char buf[4096];
  size_t len = strlen(rel);
  if (len >= sizeof buf) return -ENAMETOOLONG;
  memcpy(buf, rel, len + 1);
  char *slash = strrchr(buf, '/');
  const char *name = buf;
  if (slash) {
    *slash = '\0';
    int rc = make_dirs(root_fd, buf, 0755);
    if (rc < 0) return rc;
    name = slash + 1;
  }
  int parent = resolve_in_root(root_fd, slash ? buf : ".", O_PATH | O_DIRECTORY);
  if (parent < 0) return -errno;
  int fd = openat(parent, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
  int err = errno;
  close(parent);
  if (fd < 0) return -err;
  close(fd);
  return 0;
}

// Open the target (creating it when asked) as an O_PATH fd.
int open_target(int root_fd, const MountSpec &m, Failure *f) {
  const char *rel = relative(m.target.c_str());
  int fd = resolve_in_root(root_fd, rel, O_PATH);
  if (fd >= 0 || errno != ENOENT || m.mkdir == MKDIR_NONE) {
    if (fd < 0) set_failure(f, "resolve mount target", m.target.c_str(), errno);
    return fd;
  }
  int rc = m.mkdir == MKDIR_FILE ? make_file(root_fd, rel) : make_dirs(root_fd, rel, m.mode);
  if (rc < 0) {
    set_failure(f, "create mount target", m.target.c_str(), -rc);
    return -1;
  }
  fd = resolve_in_root(root_fd, rel, O_PATH);
  if (fd < 0) set_failure(f, "resolve mount target", m.target.c_str(), errno);
  return fd;
}

int do_symlink(int root_fd, const MountSpec &m, Failure *f) {
  char buf[4096];
  const char *rel = relative(m.target.c_str());
  size_t len = strlen(rel);
  if (len >= sizeof buf) {
    set_failure(f, "symlink", m.target.c_str(), ENAMETOOLONG);
    return -1;
  }
  memcpy(buf, rel, len + 1);
  char *slash = strrchr(buf, '/');
  const char *name = buf;
  const char *parent_rel = ".";
  if (slash) {
    *slash = '\0';
    parent_rel = buf;
    name = slash + 1;
  }
  int parent = resolve_in_root(root_fd, parent_rel, O_PATH | O_DIRECTORY);
  if (parent < 0) {
    set_failure(f, "symlink parent", m.target.c_str(), errno);
    return -1;
  }
  int rc = symlinkat(m.link_to.c_str(), parent, name);
  int err = errno;
  close(parent);
  if (rc < 0 && err != EEXIST) {
    set_failure(f, "symlink", m.target.c_str(), err);
    return -1;
  }
  return 0;
}

// Setup stage: what it creates below the root must belong to the container's root, so it is
// created with that fsuid. Host paths are looked up with fsuid 0 (switching back restores the
// filesystem capabilities).
struct CreatorIds {
  const MountContext &ctx;
  explicit CreatorIds(const MountContext &c) : ctx(c) {
    if (ctx.creator_gid >= 0) syscall(SYS_setfsgid, ctx.creator_gid);
    if (ctx.creator_uid >= 0) syscall(SYS_setfsuid, ctx.creator_uid);
  }
  ~CreatorIds() {
    if (ctx.creator_uid >= 0) syscall(SYS_setfsuid, 0);
    if (ctx.creator_gid >= 0) syscall(SYS_setfsgid, 0);
  }
};

int bind(const MountContext &ctx, const MountSpec &m, int target, Failure *f) {
  const char *step = "";
  int fd;
  if (m.source_in_root) {
    int src = resolve_in_root(ctx.root_fd, relative(m.source.c_str()), O_PATH);
    if (src < 0) {
      if (m.optional && errno == ENOENT) return 0;
      set_failure(f, "resolve bind source", m.source.c_str(), errno);
      return -1;
    }
    fd = make_detached_mount(src, "", -1, m.recursive, m.readonly, &step);
    close(src);
  } else {
    fd = make_detached_mount(AT_FDCWD, m.source.c_str(), m.idmap ? ctx.userns_fd : -1, m.recursive, m.readonly, &step);
  }
  if (fd < 0) {
    if (m.optional && -fd == ENOENT) return 0;
    set_failure(f, step, m.source.c_str(), -fd);
    return -1;
  }
  int rc = sys_move_mount(fd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
  int err = errno;
  close(fd);
  if (rc < 0) {
    set_failure(f, "move_mount", m.target.c_str(), err);
    return -1;
  }
  return 0;
}

}  // namespace

int apply_mounts(const MountContext &ctx, const std::vector<MountSpec> &mounts, Failure *f) {
  char path[32];
  int root_fd = ctx.root_fd;
  for (const MountSpec &m : mounts) {
    if (m.stage != ctx.stage) continue;
    if (m.kind == MOUNT_SYMLINK) {
      CreatorIds as(ctx);
      if (do_symlink(root_fd, m, f) < 0) return -1;
      continue;
    }
    if (m.kind == MOUNT_MKDIR) {
      CreatorIds as(ctx);
      int rc = make_dirs(root_fd, relative(m.target.c_str()), m.mode);
      if (rc < 0) {
        set_failure(f, "mkdir", m.target.c_str(), -rc);
        return -1;
      }
      continue;
    }
    if (m.kind == MOUNT_BIND && !m.source_in_root && m.optional && access(m.source.c_str(), F_OK) < 0) continue;
    int target;
    {
      CreatorIds as(ctx);
      target = open_target(root_fd, m, f);
    }
    if (target < 0) {
      // An optional mount whose target is not there (e.g. /proc/sysrq-trigger on a kernel
      // built without it) is skipped.
      if (m.optional && f->err == ENOENT) {
        f->err = 0;
        continue;
      }
      return -1;
    }
    if (m.kind == MOUNT_BIND) {
      int rc = bind(ctx, m, target, f);
      close(target);
      if (rc < 0) return -1;
      continue;
    }
    fd_path(path, target);
    int rc = mount(m.source.c_str(), path, m.fstype.c_str(), m.flags, m.data.empty() ? nullptr : m.data.c_str());
    int err = errno;
    close(target);
    if (rc < 0) {
      if (m.optional && (err == ENOENT || err == ENODEV)) continue;
      set_failure(f, "mount", m.target.c_str(), err);
      return -1;
    }
  }
  return 0;
}

}  // namespace lodge
