// Thin wrappers for syscalls glibc 2.36 does not wrap, plus small parent-side helpers.
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sys/syscall.h>
#include <pthread.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace lodge {

int sys_pidfd_open(int pid, unsigned flags) { return (int)syscall(SYS_pidfd_open, pid, flags); }

int sys_pidfd_send_signal(int pidfd, int sig) {
  return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0);
}

long sys_clone3(void *args, unsigned long size) { return syscall(SYS_clone3, args, size); }

int sys_open_tree(int dfd, const char *path, unsigned flags) {
  return (int)syscall(SYS_open_tree, dfd, path, flags);
}

int sys_move_mount(int from_dfd, const char *from, int to_dfd, const char *to, unsigned flags) {
  return (int)syscall(SYS_move_mount, from_dfd, from, to_dfd, to, flags);
}

int sys_mount_setattr(int dfd, const char *path, unsigned flags, void *attr, unsigned long size) {
  return (int)syscall(SYS_mount_setattr, dfd, path, flags, attr, size);
}

std::vector<char *> c_strings(const std::vector<std::string> &v) {
  std::vector<char *> out;
  for (const auto &s : v) out.push_back(const_cast<char *>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

void reap(int pid) {
  while (waitpid(pid, nullptr, __WALL) < 0 && errno == EINTR) {
  }
}

long clone3_signals_blocked(struct clone_args *args) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  long pid = sys_clone3(args, sizeof *args);
  if (pid == 0) return 0;  // the child resets its mask itself, right before exec
  int err = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = err;
  return pid;
}

int write_file(const char *path, const char *data, size_t len) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  ssize_t n = write(fd, data, len);
  int err = n < 0 ? errno : ((size_t)n != len ? EIO : 0);
  close(fd);
  return -err;
}

int make_detached_mount(int dfd, const char *path, int userns_fd, bool recursive, bool readonly, const char **step) {
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0) | (*path ? 0 : AT_EMPTY_PATH);
  int fd = sys_open_tree(dfd, path, flags);
  if (fd < 0) {
    *step = "open_tree";
    return -errno;
  }
  struct mount_attr attr;
  memset(&attr, 0, sizeof attr);
  if (userns_fd >= 0) {
    attr.attr_set |= MOUNT_ATTR_IDMAP;
    attr.userns_fd = (uint64_t)userns_fd;
  }
  if (readonly) attr.attr_set |= MOUNT_ATTR_RDONLY;
  if (attr.attr_set &&
      sys_mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof attr) < 0) {
    int err = errno;
    close(fd);
    *step = userns_fd >= 0 ? "mount_setattr(MOUNT_ATTR_IDMAP)" : "mount_setattr(MOUNT_ATTR_RDONLY)";
    return -err;
  }
  return fd;
}

}  // namespace lodge
