// netlinkRequest(netnsFd, request): one rtnetlink request, sent on a fresh NETLINK_ROUTE socket
// of the daemon's network namespace (netnsFd -1) or of another one, answered with the reply
// messages. TypeScript builds and parses every message; this file only moves bytes, so it knows
// of nlmsghdr and nlmsgerr and nothing of links or addresses.
#include <napi.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "common.h"

namespace lodge {
namespace {

// The kernel never builds a dump datagram larger than 32 KiB (it sizes them after the reader's
// buffer, capped there); twice that leaves room, and MSG_TRUNC catches anything bigger.
constexpr size_t kReceiveBuffer = 64 * 1024;
// A dump of 100k datagrams is far beyond any host; past it something is wrong: stop reading.
constexpr int kMaxDatagrams = 100000;
// The kernel answers in microseconds; a request that waits for seconds (an rtnl lock held by a
// stuck driver) must not pin a threadpool thread forever.
constexpr int kReplyTimeoutSeconds = 10;

struct NetlinkOutcome {
  std::vector<std::vector<uint8_t>> messages;  // every reply message but the final ACK / DONE
  int err = 0;                                 // positive errno; 0 = success
  std::string step;                            // what failed, e.g. "recvmsg"
  std::string kernel_message;                  // the kernel's extended-ack text, if it sent one
};

int fail(NetlinkOutcome *out, const char *step, int err) {
  out->step = step;
  out->err = err;
  return -1;
}

// A NETLINK_ROUTE socket of the namespace netns_fd. The threadpool thread steps into that
// namespace for the socket() call only: a socket stays bound to the namespace it was made in, so
// everything after runs from home. Coming back must succeed: libuv reuses this thread for other
// work (getaddrinfo, the addon's own spawns, which inherit the caller's namespaces), and any of
// them running inside a container's network would be silently wrong and a security hole. There
// is no safe way to carry on with a thread in the wrong namespace, so the process aborts.
int netlink_socket_in(int netns_fd, NetlinkOutcome *out) {
  int flags = SOCK_RAW | SOCK_CLOEXEC;
  if (netns_fd < 0) {
    int s = socket(AF_NETLINK, flags, NETLINK_ROUTE);
    return s < 0 ? fail(out, "socket(AF_NETLINK)", errno) : s;
  }
  int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home < 0) return fail(out, "open /proc/thread-self/ns/net", errno);
  if (setns(netns_fd, CLONE_NEWNET) < 0) {
    int err = errno;
    close(home);
    return fail(out, "setns(network namespace)", err);
  }
  int s = socket(AF_NETLINK, flags, NETLINK_ROUTE);
  int err = errno;
  if (setns(home, CLONE_NEWNET) < 0) abort();
  close(home);
  return s < 0 ? fail(out, "socket(AF_NETLINK) in the namespace", err) : s;
}

// The extended-ack text after an nlmsgerr (NETLINK_CAP_ACK: the request is not echoed).
std::string extack_message(const nlmsghdr *h) {
  if (!(h->nlmsg_flags & NLM_F_ACK_TLVS)) return "";
  size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nlmsgerr));
  while (off + NLA_HDRLEN <= h->nlmsg_len) {
    const nlattr *a = reinterpret_cast<const nlattr *>(reinterpret_cast<const uint8_t *>(h) + off);
    if (a->nla_len < NLA_HDRLEN || off + a->nla_len > h->nlmsg_len) break;
    if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
      const char *s = reinterpret_cast<const char *>(a) + NLA_HDRLEN;
      return std::string(s, strnlen(s, a->nla_len - NLA_HDRLEN));
    }
    off += NLA_ALIGN(a->nla_len);
  }
  return "";
}

// Sends the request and collects replies until the ACK (or error) of a plain request, or the
// DONE of a dump. Closes the socket on every path.
void run_request(int netns_fd, const std::vector<uint8_t> &request, NetlinkOutcome *out) {
  int s = netlink_socket_in(netns_fd, out);
  if (s < 0) return;
  int one = 1;
  // CAP_ACK: errors do not echo the request back; EXT_ACK: the kernel says why it refused.
  setsockopt(s, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  setsockopt(s, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  timeval tv = {kReplyTimeoutSeconds, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  sockaddr_nl kernel = {};
  kernel.nl_family = AF_NETLINK;
  ssize_t sent;
  do sent = sendto(s, request.data(), request.size(), 0, reinterpret_cast<sockaddr *>(&kernel), sizeof kernel);
  while (sent < 0 && errno == EINTR);
  if (sent < 0) {
    fail(out, "sendto(netlink)", errno);
    close(s);
    return;
  }

  std::vector<uint8_t> buf(kReceiveBuffer);
  bool finished = false;
  for (int n = 0; n < kMaxDatagrams && !finished; n++) {
    iovec iov = {buf.data(), buf.size()};
    sockaddr_nl from = {};
    msghdr mh = {};
    mh.msg_name = &from;
    mh.msg_namelen = sizeof from;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    ssize_t len = recvmsg(s, &mh, MSG_TRUNC);
    if (len < 0) {
      if (errno == EINTR) continue;
      fail(out, "recvmsg(netlink)", errno == EAGAIN ? ETIMEDOUT : errno);
      break;
    }
    if ((size_t)len > buf.size() || (mh.msg_flags & MSG_TRUNC)) {
      fail(out, "recvmsg(netlink): datagram larger than the buffer", EMSGSIZE);
      break;
    }
    if (from.nl_pid != 0) continue;  // only the kernel speaks to a fresh socket; ignore anyone else
    size_t left = (size_t)len;
    for (nlmsghdr *h = reinterpret_cast<nlmsghdr *>(buf.data()); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_type == NLMSG_ERROR) {
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(int))) {
          fail(out, "netlink: short error message", EPROTO);
        } else {
          int e = reinterpret_cast<const nlmsgerr *>(NLMSG_DATA(h))->error;
          if (e != 0) {
            fail(out, "netlink", -e);
            out->kernel_message = extack_message(h);
          }
        }
        finished = true;  // an error ends a dump too; error 0 is the ACK
        break;
      }
      if (h->nlmsg_type == NLMSG_DONE) {
        // DONE carries the dump's own status (negative errno) when it was cut short
        if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int))) {
          int e = *reinterpret_cast<const int *>(NLMSG_DATA(h));
          if (e < 0) {
            fail(out, "netlink dump", -e);
            out->kernel_message = extack_message(h);
          }
        }
        finished = true;
        break;
      }
      if (h->nlmsg_type == NLMSG_NOOP || h->nlmsg_type == NLMSG_OVERRUN) continue;
      const uint8_t *p = reinterpret_cast<const uint8_t *>(h);
      out->messages.emplace_back(p, p + h->nlmsg_len);
    }
    if (left != 0 && !finished && out->err == 0) {
      fail(out, "netlink: malformed reply", EPROTO);
      break;
    }
  }
  if (!finished && out->err == 0) fail(out, "netlink: too many reply datagrams", E2BIG);
  close(s);
}

class NetlinkWorker : public Napi::AsyncWorker {
 public:
  NetlinkWorker(Napi::Env env, int netns_fd, std::vector<uint8_t> request)
      : Napi::AsyncWorker(env, "lodge:netlink"),
        netns_fd_(netns_fd),
        request_(std::move(request)),
        deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { run_request(netns_fd_, request_, &out_); }
  void OnOK() override {
    Napi::Env env = Env();
    if (out_.err != 0) {
      // strerror here, on the JS thread: the message is built once, not raced for.
      std::string text = out_.step + ": " + strerror(out_.err);
      if (!out_.kernel_message.empty()) text += " (" + out_.kernel_message + ")";
      Napi::Error e = Napi::Error::New(env, text);
      e.Set("code", Napi::String::New(env, errno_name(out_.err)));
      e.Set("errno", Napi::Number::New(env, out_.err));
      e.Set("step", Napi::String::New(env, out_.step));
      if (!out_.kernel_message.empty()) e.Set("kernelMessage", Napi::String::New(env, out_.kernel_message));
      deferred_.Reject(e.Value());
      return;
    }
    Napi::Array a = Napi::Array::New(env, out_.messages.size());
    for (size_t i = 0; i < out_.messages.size(); i++)
      a.Set(i, Napi::Buffer<uint8_t>::Copy(env, out_.messages[i].data(), out_.messages[i].size()));
    deferred_.Resolve(a);
  }

 private:
  int netns_fd_;
  std::vector<uint8_t> request_;
  NetlinkOutcome out_;
  Napi::Promise::Deferred deferred_;
};

}  // namespace

// netlinkRequest(netnsFd, request) -> Promise<Buffer[]>: request is one whole netlink message
// that asks for an ACK (NLM_F_ACK) or is a dump (NLM_F_DUMP), so the end of the reply is known.
Napi::Value NetlinkRequest(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const char *usage = "netlinkRequest(netnsFd, request)";
  if (!info[0].IsNumber() || !info[1].IsBuffer()) {
    Napi::TypeError::New(env, usage).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  double fd = info[0].As<Napi::Number>().DoubleValue();
  if (fd != (double)(int)fd || fd < -1) {
    Napi::TypeError::New(env, std::string(usage) + ": netnsFd must be -1 or an fd").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Buffer<uint8_t> b = info[1].As<Napi::Buffer<uint8_t>>();
  if (b.Length() < NLMSG_HDRLEN || b.Length() > 65536) {
    Napi::TypeError::New(env, std::string(usage) + ": request must be one netlink message").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  nlmsghdr h;
  memcpy(&h, b.Data(), sizeof h);
  bool dump = (h.nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
  if (h.nlmsg_len != b.Length() || !(h.nlmsg_flags & NLM_F_REQUEST) || (!dump && !(h.nlmsg_flags & NLM_F_ACK))) {
    Napi::TypeError::New(env, std::string(usage) + ": request must be one whole message with NLM_F_REQUEST and NLM_F_ACK or NLM_F_DUMP")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto *w = new NetlinkWorker(env, (int)fd, std::vector<uint8_t>(b.Data(), b.Data() + b.Length()));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

}  // namespace lodge
