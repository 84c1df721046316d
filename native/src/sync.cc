// The parent<->child handshake: SOCK_SEQPACKET messages with a small header, optional
// payload and optional fds (SCM_RIGHTS). All functions are async-signal-safe.
#include "common.h"

#include <errno.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace lodge {

namespace {
struct Header {
  uint32_t type;
  uint32_t len;
};
constexpr int kMaxFds = 64;
constexpr size_t kMaxPayload = 512;

size_t bounded_copy(char *dst, size_t cap, size_t pos, const char *src) {
  while (src && *src && pos + 1 < cap) dst[pos++] = *src++;
  dst[pos] = '\0';
  return pos;
}
}  // namespace

void set_failure(Failure *f, const char *step, const char *detail, int err) {
  size_t pos = bounded_copy(f->step, sizeof f->step, 0, step);
  if (detail && *detail) {
    pos = bounded_copy(f->step, sizeof f->step, pos, " ");
    bounded_copy(f->step, sizeof f->step, pos, detail);
  }
  f->err = err ? err : EIO;
}

std::string errno_name(int err) {
  const char *name = strerrorname_np(err);
  if (name) return name;
  return "E" + std::to_string(err);
}

char *format_int(char *buf, long value) {
  char tmp[24];
  int n = 0;
  bool neg = value < 0;
  unsigned long v = neg ? -(unsigned long)value : (unsigned long)value;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  int pos = 0;
  if (neg) buf[pos++] = '-';
  while (n) buf[pos++] = tmp[--n];
  buf[pos] = '\0';
  return buf;
}

const char *fd_path(char *buf, int fd) {
  static const char prefix[] = "/proc/self/fd/";
  memcpy(buf, prefix, sizeof prefix - 1);
  format_int(buf + sizeof prefix - 1, fd);
  return buf;
}

int send_msg(int sock, uint32_t type, const void *data, uint32_t len, const int *fds, int nfds) {
  char buf[sizeof(Header) + kMaxPayload];
  if (len > kMaxPayload || nfds > kMaxFds) return -EINVAL;
  Header h{type, len};
  memcpy(buf, &h, sizeof h);
  if (len) memcpy(buf + sizeof h, data, len);
  struct iovec iov = {buf, sizeof h + len};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
  if (nfds > 0) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
  }
  for (;;) {
    ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (n >= 0) return 0;
    if (errno != EINTR) return -errno;
  }
}

int recv_msg(int sock, uint32_t *type, void *data, uint32_t cap, uint32_t *len, int *fds, int maxfds,
             int *nfds) {
  char buf[sizeof(Header) + kMaxPayload];
  struct iovec iov = {buf, sizeof buf};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  for (;;) {
    n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (n >= 0) break;
    if (errno != EINTR) return -errno;
  }
  if (nfds) *nfds = 0;
  if (n == 0) return 1;  // EOF: the peer exited or exec'd (its end is close-on-exec)
  int received = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
      int *in = (int *)CMSG_DATA(c);
      for (int i = 0; i < count; i++) {
        if (fds && nfds && *nfds < maxfds) {
          fds[(*nfds)++] = in[i];
          received++;
        } else {
          close(in[i]);
        }
      }
    }
  }
  // A cut message or cut fd list (e.g. our fd limit) is an error, not a shorter message.
  bool bad = (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || (size_t)n < sizeof(Header);
  if (bad) {
    for (int i = 0; i < received; i++) close(fds[i]);
    if (nfds) *nfds = 0;
    return (msg.msg_flags & MSG_CTRUNC) ? -EMFILE : -EPROTO;
  }
  Header h;
  memcpy(&h, buf, sizeof h);
  if (h.len > cap || sizeof h + h.len != (size_t)n) {
    for (int i = 0; i < received; i++) close(fds[i]);
    if (nfds) *nfds = 0;
    return -EPROTO;
  }
  *type = h.type;
  if (h.len) memcpy(data, buf + sizeof h, h.len);
  if (len) *len = h.len;
  return 0;
}

int wait_readable(int sock, int timeout_ms) {
  struct pollfd p = {sock, POLLIN, 0};
  for (;;) {
    int rc = poll(&p, 1, timeout_ms);
    if (rc > 0) return 0;
    if (rc == 0) return -ETIMEDOUT;
    if (errno != EINTR) return -errno;
  }
}

void close_all_except(const int *keep, int n) {
  // Sort a small copy, then close the gaps between the kept fds (fds 0-2 stay).
  int k[16];
  int m = 0;
  for (int i = 0; i < n && m < 16; i++)
    if (keep[i] > 2) k[m++] = keep[i];
  for (int i = 1; i < m; i++)
    for (int j = i; j > 0 && k[j - 1] > k[j]; j--) {
      int t = k[j];
      k[j] = k[j - 1];
      k[j - 1] = t;
    }
  unsigned from = 3;
  for (int i = 0; i < m; i++) {
    if ((unsigned)k[i] > from) syscall(SYS_close_range, from, (unsigned)k[i] - 1, 0);
    if ((unsigned)k[i] + 1 > from) from = (unsigned)k[i] + 1;
  }
  syscall(SYS_close_range, from, ~0U, 0);
}

int collect_reports(int sock, ChildReports *out, const char **step) {
  for (;;) {
    int rc = wait_readable(sock, kChildReplyTimeoutMs);
    if (rc < 0) {
      *step = rc == -ETIMEDOUT ? "wait for child: no answer" : "wait for child";
      return rc;
    }
    uint32_t type = 0;
    char buf[sizeof(Failure)];
    uint32_t len = 0;
    int fds[1];
    int nfds = 0;
    rc = recv_msg(sock, &type, buf, sizeof buf, &len, fds, 1, &nfds);
    if (rc == 1) return 0;
    if (rc < 0) {
      *step = "read child status";
      return rc;
    }
    if (type == MSG_PID && len == sizeof(int32_t) && out->pid < 0) {
      int32_t v;
      memcpy(&v, buf, sizeof v);
      out->pid = v;
      if (nfds == 1) out->pid_fd = fds[0];
      continue;
    }
    if (type == MSG_PTY && nfds == 1 && out->pty_fd < 0) {
      out->pty_fd = fds[0];
      continue;
    }
    if (type == MSG_HELD && nfds == 0 && out->stop_at_held && !out->held) {
      out->held = true;
      return 0;
    }
    for (int i = 0; i < nfds; i++) close(fds[i]);
    if (type == MSG_FAILURE && len == sizeof(Failure)) {
      if (!out->failure.err) {
        memcpy(&out->failure, buf, sizeof(Failure));
        out->failure.step[sizeof out->failure.step - 1] = '\0';
      }
      continue;
    }
    *step = "read child status: unexpected message";
    return -EPROTO;
  }
}

void child_fail(int sock, const Failure &f) {
  send_msg(sock, MSG_FAILURE, &f, sizeof f, nullptr, 0);
  _exit(127);
}

}  // namespace lodge
