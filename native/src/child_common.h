// CHILD-side helpers shared by spawn and exec. Everything here is async-signal-safe: raw
// syscalls only. glibc's setresuid()/setgroups() must not be used in a child made with the raw
// clone3 syscall: they broadcast to every thread glibc believes exists (Node's threads, which
// the child does not have) and can hang.
#pragma once

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common.h"

namespace lodge {

inline int raw_setresuid(uid_t u) { return (int)syscall(SYS_setresuid, u, u, u); }
inline int raw_setresgid(gid_t g) { return (int)syscall(SYS_setresgid, g, g, g); }
inline int raw_setgroups(size_t n, const gid_t *g) { return (int)syscall(SYS_setgroups, n, g); }

// Default dispositions and an empty mask: exec keeps "ignored" signals and the mask, and the
// Node parent ignores SIGPIPE and runs on threads that block signals.
inline void reset_signals() {
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) sigaction(sig, &dfl, nullptr);  // 32/33 are refused: fine
  sigset_t none;
  sigemptyset(&none);
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, nullptr, sizeof(uint64_t));
}

// execve, searching PATH (from envp, or the usual default) when file has no slash.
inline int exec_search(const char *file, char *const argv[], char *const envp[]) {
  if (strchr(file, '/')) return execve(file, argv, envp);
  const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (char *const *e = envp; *e; e++) {
    if (strncmp(*e, "PATH=", 5) == 0) {
      path = *e + 5;
      break;
    }
  }
  size_t flen = strlen(file);
  int last_err = ENOENT;
  char buf[4096];
  const char *p = path;
  for (;;) {
    const char *end = strchr(p, ':');
    size_t dlen = end ? (size_t)(end - p) : strlen(p);
    if (dlen + 1 + flen + 1 <= sizeof buf) {
      size_t pos = 0;
      if (dlen == 0) buf[pos++] = '.';
      memcpy(buf + pos, p, dlen);
      pos += dlen;
      buf[pos++] = '/';
      memcpy(buf + pos, file, flen + 1);
      execve(buf, argv, envp);
      if (errno != ENOENT && errno != ENOTDIR) last_err = errno;
    }
    if (!end) break;
    p = end + 1;
  }
  errno = last_err;
  return -1;
}

}  // namespace lodge
