// N-API surface of the addon. Options objects are parsed on the JS thread into plain C++
// specs; the fork/handshake work runs on a libuv worker thread and settles a Promise.
#include <napi.h>
#include <fcntl.h>
#include <sched.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <uv.h>

#include <unordered_map>
#include <vector>

#include "exec.h"
#include "spawn.h"

namespace lodge {
Napi::Value NetlinkRequest(const Napi::CallbackInfo &info);  // netlink.cc
Napi::Value MountOverlay(const Napi::CallbackInfo &info);    // host_mount.cc
Napi::Value BindMount(const Napi::CallbackInfo &info);       // host_mount.cc
Napi::Value Unmount(const Napi::CallbackInfo &info);         // host_mount.cc
namespace {

const SeccompProgram &default_seccomp() {
  static const SeccompProgram prog = build_default_seccomp();
  return prog;
}

// ---- option parsing ----
bool get_string(const Napi::Object &o, const char *key, std::string *out, bool required = false) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) {
    if (required) Napi::TypeError::New(o.Env(), std::string(key) + " is required").ThrowAsJavaScriptException();
    return !required;
  }
  if (!v.IsString()) {
    Napi::TypeError::New(o.Env(), std::string(key) + " must be a string").ThrowAsJavaScriptException();
    return false;
  }
  *out = v.As<Napi::String>().Utf8Value();
  if (out->find('\0') != std::string::npos) {
    Napi::TypeError::New(o.Env(), std::string(key) + " must not contain NUL").ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

bool get_strings(const Napi::Object &o, const char *key, std::vector<std::string> *out) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return true;
  if (!v.IsArray()) {
    Napi::TypeError::New(o.Env(), std::string(key) + " must be an array of strings").ThrowAsJavaScriptException();
    return false;
  }
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    if (!e.IsString()) {
      Napi::TypeError::New(o.Env(), std::string(key) + " must be an array of strings").ThrowAsJavaScriptException();
      return false;
    }
    std::string s = e.As<Napi::String>().Utf8Value();
    if (s.find('\0') != std::string::npos) {
      Napi::TypeError::New(o.Env(), std::string(key) + " must not contain NUL").ThrowAsJavaScriptException();
      return false;
    }
    out->push_back(std::move(s));
  }
  return true;
}

bool throw_type(Napi::Env env, const std::string &what) {
  Napi::TypeError::New(env, what).ThrowAsJavaScriptException();
  return false;
}

bool integer_in(const Napi::Value &v, int64_t lo, int64_t hi, int64_t *out) {
  if (!v.IsNumber()) return false;
  double d = v.As<Napi::Number>().DoubleValue();
  if (d != d || d < (double)lo || d > (double)hi || d != (double)(int64_t)d) return false;
  *out = (int64_t)d;
  return true;
}

// An optional integer field within [lo, hi].
bool get_int(const Napi::Object &o, const char *key, int64_t *out, int64_t lo = INT32_MIN, int64_t hi = INT32_MAX) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return true;
  if (!integer_in(v, lo, hi, out))
    return throw_type(o.Env(), std::string(key) + " must be an integer in " + std::to_string(lo) + ".." + std::to_string(hi));
  return true;
}

// An optional array of integers within [lo, hi].
template <typename T>
bool get_int_array(const Napi::Object &o, const char *key, std::vector<T> *out, int64_t lo, int64_t hi) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return true;
  if (!v.IsArray()) return throw_type(o.Env(), std::string(key) + " must be an array of integers");
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) {
    int64_t n;
    if (!integer_in(a.Get(i), lo, hi, &n))
      return throw_type(o.Env(), std::string(key) + " must hold integers in " + std::to_string(lo) + ".." + std::to_string(hi));
    out->push_back((T)n);
  }
  return true;
}

bool get_bool(const Napi::Object &o, const char *key, bool *out) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return true;
  *out = v.ToBoolean().Value();
  return true;
}

bool get_confine(const Napi::Object &o, ConfineSpec *c) {
  Napi::Value v = o.Get("confine");
  if (v.IsUndefined() || v.IsNull()) return true;
  if (!v.IsObject()) return throw_type(o.Env(), "confine must be an object");
  Napi::Object conf = v.As<Napi::Object>();
  get_bool(conf, "seccomp", &c->seccomp);
  return get_int_array(conf, "dropCaps", &c->drop_caps, 0, 63);
}

bool get_mounts(const Napi::Object &o, std::vector<MountSpec> *out) {
  Napi::Value v = o.Get("mounts");
  if (v.IsUndefined() || v.IsNull()) return true;
  if (!v.IsArray()) {
    Napi::TypeError::New(o.Env(), "mounts must be an array").ThrowAsJavaScriptException();
    return false;
  }
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) {
    if (!a.Get(i).IsObject()) return throw_type(o.Env(), "mounts must hold objects");
    Napi::Object m = a.Get(i).As<Napi::Object>();
    MountSpec s;
    int64_t n = 0;
    if (!get_int(m, "kind", &n, MOUNT_FS, MOUNT_MKDIR)) return false;
    s.kind = (int)n;
    if (!get_string(m, "target", &s.target, true) || !get_string(m, "source", &s.source) ||
        !get_string(m, "fstype", &s.fstype) || !get_string(m, "data", &s.data) ||
        !get_string(m, "linkTo", &s.link_to))
      return false;
    n = 0;
    if (!get_int(m, "flags", &n, 0, UINT32_MAX)) return false;
    s.flags = (unsigned long)n;
    n = 0;
    if (!get_int(m, "mkdir", &n, MKDIR_NONE, MKDIR_FILE)) return false;
    s.mkdir = (int)n;
    n = 0755;
    if (!get_int(m, "mode", &n, 0, 07777)) return false;
    s.mode = (int)n;
    n = MOUNT_STAGE_CONTAINER;
    if (!get_int(m, "stage", &n, MOUNT_STAGE_SETUP, MOUNT_STAGE_CONTAINER)) return false;
    s.stage = (int)n;
    get_bool(m, "idmap", &s.idmap);
    get_bool(m, "sourceInRoot", &s.source_in_root);
    get_bool(m, "readonly", &s.readonly);
    get_bool(m, "recursive", &s.recursive);
    get_bool(m, "optional", &s.optional);
    out->push_back(std::move(s));
  }
  return true;
}

Napi::Error failure_error(Napi::Env env, const Failure &f) {
  std::string name = errno_name(f.err);
  Napi::Error e = Napi::Error::New(env, std::string(f.step) + ": " + name);
  e.Set("step", Napi::String::New(env, f.step));
  e.Set("code", Napi::String::New(env, name));
  e.Set("errno", Napi::Number::New(env, f.err));
  return e;
}

// ---- a worker that runs `work(spec)` off the JS thread and settles a Promise ----
template <typename Spec, typename Result>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = Result (*)(const Spec &, const SeccompProgram &);
  using ToJs = Napi::Object (*)(Napi::Env, const Result &);
  PromiseWorker(Napi::Env env, Spec spec, Work work, ToJs to_js)
      : Napi::AsyncWorker(env),
        spec_(std::move(spec)),
        work_(work),
        to_js_(to_js),
        deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { result_ = work_(spec_, default_seccomp()); }
  void OnOK() override {
    if (result_.failure.err) {
      deferred_.Reject(failure_error(Env(), result_.failure).Value());
      return;
    }
    deferred_.Resolve(to_js_(Env(), result_));
  }

 private:
  Spec spec_;
  Work work_;
  ToJs to_js_;
  Result result_;
  Napi::Promise::Deferred deferred_;
};

template <typename Spec, typename Result>
Napi::Value queue(Napi::Env env, Spec spec, Result (*work)(const Spec &, const SeccompProgram &),
                  Napi::Object (*to_js)(Napi::Env, const Result &)) {
  if (env.IsExceptionPending()) return env.Undefined();
  auto *w = new PromiseWorker<Spec, Result>(env, std::move(spec), work, to_js);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// ---- spawn ----
Napi::Object spawn_result(Napi::Env env, const SpawnResult &r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("pid", r.pid);
  o.Set("pidfd", r.pidfd);
  if (r.hold >= 0) o.Set("hold", r.hold);
  return o;
}

// resumeSpawn(hold): the held init goes on to its execve. Resolves {pid, pidfd}.
Napi::Value ResumeSpawn(const Napi::CallbackInfo &info) {
  ResumeSpec s;
  if (!info[0].IsNumber()) return throw_type(info.Env(), "resumeSpawn(hold)"), info.Env().Undefined();
  s.hold = info[0].As<Napi::Number>().Int32Value();
  return queue(info.Env(), std::move(s), resume_spawn, spawn_result);
}

// abortSpawn(hold): the held init is killed and reaped; its pidfd stays the caller's to close.
Napi::Value AbortSpawn(const Napi::CallbackInfo &info) {
  if (!info[0].IsNumber()) return throw_type(info.Env(), "abortSpawn(hold)"), info.Env().Undefined();
  abort_spawn(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

// For each cgroup.procs file, its hierarchy's `tasks` file when it is a v1 hierarchy (it has
// one), else "": a single-threaded process joins a v1 cgroup fastest by writing "0" to `tasks`
// itself (no global threadgroup lock, no RCU grace period; see init_child and helper_child).
std::vector<std::string> v1_tasks_files(const std::vector<std::string> &procs_files) {
  const std::string suffix = "/cgroup.procs";
  std::vector<std::string> out;
  for (const std::string &procs : procs_files) {
    bool named = procs.size() > suffix.size() && procs.compare(procs.size() - suffix.size(), suffix.size(), suffix) == 0;
    std::string tasks = named ? procs.substr(0, procs.size() - suffix.size()) + "/tasks" : "";
    out.push_back(!tasks.empty() && access(tasks.c_str(), F_OK) == 0 ? tasks : "");
  }
  return out;
}

Napi::Value Spawn(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) {
    Napi::TypeError::New(env, "spawn(options)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object o = info[0].As<Napi::Object>();
  SpawnSpec s;
  int64_t n = -1;
  if (!get_string(o, "rootfs", &s.rootfs, true) || !get_strings(o, "argv", &s.argv) ||
      !get_strings(o, "env", &s.env) || !get_string(o, "hostname", &s.hostname) ||
      !get_string(o, "uidMap", &s.uid_map) || !get_string(o, "gidMap", &s.gid_map) ||
      !get_string(o, "cwd", &s.cwd) || !get_strings(o, "cgroupProcs", &s.cgroup_procs) ||
      !get_mounts(o, &s.mounts))
    return env.Undefined();
  get_bool(o, "userns", &s.userns);
  get_bool(o, "idmapRootfs", &s.idmap_rootfs);
  get_bool(o, "hold", &s.hold);
  s.cgroup_tasks = v1_tasks_files(s.cgroup_procs);
  Napi::Value overlay = o.Get("overlay");
  if (!overlay.IsUndefined() && !overlay.IsNull()) {
    if (!overlay.IsObject()) return throw_type(env, "overlay must be an object"), env.Undefined();
    Napi::Object ov = overlay.As<Napi::Object>();
    if (!get_string(ov, "lower", &s.overlay_lower, true) || !get_string(ov, "lowerMount", &s.overlay_lower_mount, true) ||
        !get_string(ov, "upper", &s.overlay_upper, true) || !get_string(ov, "work", &s.overlay_work, true))
      return env.Undefined();
    for (const std::string *p : {&s.overlay_lower_mount, &s.overlay_upper, &s.overlay_work}) {
      // overlayfs splits its options on ',' and ':' (and unescapes '\'): such paths cannot be given.
      if (p->find_first_of(",:\\") != std::string::npos) return throw_type(env, "overlay paths must not contain ',', ':' or '\\'"), env.Undefined();
    }
    s.overlay_data = "lowerdir=" + s.overlay_lower_mount + ",upperdir=" + s.overlay_upper + ",workdir=" + s.overlay_work;
  }
  n = 0;
  if (!get_int(o, "rootUid", &n, 0, 0xfffffffe)) return env.Undefined();
  s.root_uid = (int)n;
  n = 0;
  if (!get_int(o, "rootGid", &n, 0, 0xfffffffe)) return env.Undefined();
  s.root_gid = (int)n;
  n = -1;
  if (!get_int(o, "netnsFd", &n, -1, INT32_MAX)) return env.Undefined();
  s.netns_fd = (int)n;
  n = -1;
  if (!get_int(o, "consoleFd", &n, -1, INT32_MAX)) return env.Undefined();
  s.console_fd = (int)n;
  if (!get_confine(o, &s.confine)) return env.Undefined();
  if (s.argv.empty()) {
    Napi::TypeError::New(env, "argv must name the init to run").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (s.cwd.empty()) s.cwd = "/";
  return queue(env, std::move(s), spawn_container, spawn_result);
}

// ---- exec ----
Napi::Object exec_result(Napi::Env env, const ExecResult &r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("pid", r.pid);
  o.Set("pidfd", r.pidfd);
  o.Set("ptyMaster", r.pty_master);
  o.Set("stdin", r.stdin_fd);
  o.Set("stdout", r.stdout_fd);
  o.Set("stderr", r.stderr_fd);
  return o;
}

Napi::Value Exec(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) {
    Napi::TypeError::New(env, "exec(options)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object o = info[0].As<Napi::Object>();
  ExecSpec s;
  int64_t n = -1;
  if (!get_int(o, "initPidfd", &n, -1, INT32_MAX)) return env.Undefined();
  s.init_pidfd = (int)n;
  if (!get_strings(o, "argv", &s.argv) || !get_strings(o, "env", &s.env) || !get_string(o, "cwd", &s.cwd) ||
      !get_strings(o, "cgroupProcs", &s.cgroup_procs))
    return env.Undefined();
  s.cgroup_tasks = v1_tasks_files(s.cgroup_procs);
  get_bool(o, "userns", &s.userns);
  get_bool(o, "pty", &s.pty);
  // (uid_t)-1 would mean "unchanged" to setresuid: never accepted.
  n = 0;
  if (!get_int(o, "uid", &n, 0, 0xfffffffe)) return env.Undefined();
  s.uid = (uint32_t)n;
  n = 0;
  if (!get_int(o, "gid", &n, 0, 0xfffffffe)) return env.Undefined();
  s.gid = (uint32_t)n;
  n = 24;
  if (!get_int(o, "rows", &n, 1, 65535)) return env.Undefined();
  s.rows = (uint16_t)n;
  n = 80;
  if (!get_int(o, "cols", &n, 1, 65535)) return env.Undefined();
  s.cols = (uint16_t)n;
  if (!get_int_array(o, "groups", &s.groups, 0, 0xfffffffe) || !get_confine(o, &s.confine)) return env.Undefined();
  if (s.groups.size() > 65536) {
    Napi::RangeError::New(env, "too many groups").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (s.init_pidfd < 0 || s.argv.empty()) {
    Napi::TypeError::New(env, "exec needs initPidfd and argv").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (s.cwd.empty()) s.cwd = "/";
  return queue(env, std::move(s), exec_in_container, exec_result);
}

Napi::Value throw_errno(Napi::Env env, const char *step, int err);
bool arg_int(const Napi::CallbackInfo &info, size_t i, int64_t lo, int64_t hi, const char *fn, int64_t *out);

// ---- exit watching: a uv_poll on the pidfd; no thread, no helper process ----
// Watches are kept in a table by id, so JS can ref/unref one that may already be closed, and
// the environment's cleanup hook can close every watch without calling into JS.
struct ExitWatch {
  uv_poll_t poll;
  uint32_t id;
  int pidfd;
  Napi::FunctionReference callback;
  Napi::AsyncContext *context;
  napi_env env;
};

struct WatchTable {
  std::unordered_map<uint32_t, ExitWatch *> watches;
  uint32_t next_id = 1;
  bool shutting_down = false;
};

WatchTable &watch_table() {
  static WatchTable table;  // one Node environment per process in Lodge
  return table;
}

void on_watch_closed(uv_handle_t *h) {
  auto *w = static_cast<ExitWatch *>(h->data);
  close(w->pidfd);
  delete w->context;
  delete w;
}

void close_watch(ExitWatch *w) {
  watch_table().watches.erase(w->id);
  uv_poll_stop(&w->poll);
  uv_close(reinterpret_cast<uv_handle_t *>(&w->poll), on_watch_closed);
}

void on_pidfd_readable(uv_poll_t *handle, int status, int events) {
  auto *w = static_cast<ExitWatch *>(handle->data);
  if (watch_table().shutting_down) return;
  siginfo_t si;
  memset(&si, 0, sizeof si);
  int rc = waitid((idtype_t)P_PIDFD, (id_t)w->pidfd, &si, WEXITED | WNOHANG | __WALL);
  if (rc == 0 && si.si_pid == 0) return;  // spurious wake-up: still running
  // Not our child: only an ended process makes a pidfd readable; a poll error (status < 0) on
  // a live one is not an exit.
  if (rc != 0 && status < 0 && sys_pidfd_send_signal(w->pidfd, 0) == 0) return;
  Napi::Env env(w->env);
  Napi::HandleScope scope(env);
  Napi::Object result = Napi::Object::New(env);
  if (rc == 0) {
    result.Set("known", true);
    if (si.si_code == CLD_EXITED) {
      result.Set("exitCode", si.si_status);
    } else {
      result.Set("signal", si.si_status);
      result.Set("coreDumped", si.si_code == CLD_DUMPED);
    }
  } else {
    // Not our child (re-adopted after a daemon restart): the exit is known, its status is not.
    result.Set("known", false);
  }
  Napi::Function cb = w->callback.Value();
  w->callback.Reset();
  Napi::AsyncContext *context = w->context;
  w->context = nullptr;
  close_watch(w);
  cb.MakeCallback(env.Global(), {result}, *context);
  delete context;
  // A throwing callback must reach process 'uncaughtException', not stay pending here and
  // surface in some later, unrelated addon call.
  if (env.IsExceptionPending()) {
    Napi::Error e = env.GetAndClearPendingException();
    napi_fatal_exception(env, e.Value());
  }
}

void close_all_watches(void *) {
  WatchTable &t = watch_table();
  t.shutting_down = true;
  std::vector<ExitWatch *> all;
  for (auto &kv : t.watches) all.push_back(kv.second);
  for (ExitWatch *w : all) {
    // Release every N-API object now, while the environment still exists; the uv_close
    // callback that runs later only frees memory.
    w->callback.Reset();
    delete w->context;
    w->context = nullptr;
    close_watch(w);
  }
}

// watchExit(pidfd, callback, keepAlive) -> id. keepAlive: whether the watch holds the event loop.
Napi::Value WatchExit(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int64_t fd;
  if (!arg_int(info, 0, 0, INT32_MAX, "watchExit(pidfd, callback, keepAlive)", &fd)) return env.Undefined();
  if (!info[1].IsFunction()) return throw_type(env, "watchExit(pidfd, callback, keepAlive): callback must be a function"), env.Undefined();
  // The watch owns a duplicate: the caller may close its pidfd whenever it likes.
  int own = fcntl((int)fd, F_DUPFD_CLOEXEC, 3);
  if (own < 0) return throw_errno(env, "fcntl(F_DUPFD_CLOEXEC)", errno);
  uv_loop_t *loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  WatchTable &t = watch_table();
  auto *w = new ExitWatch();
  w->id = t.next_id++;
  w->pidfd = own;
  w->callback = Napi::Persistent(info[1].As<Napi::Function>());
  w->context = new Napi::AsyncContext(env, "lodge:exit");
  w->env = env;
  w->poll.data = w;
  int rc = uv_poll_init(loop, &w->poll, w->pidfd);
  if (rc != 0) {
    close(own);
    delete w->context;
    delete w;
    Napi::Error::New(env, std::string("uv_poll on pidfd: ") + uv_strerror(rc)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  rc = uv_poll_start(&w->poll, UV_READABLE, on_pidfd_readable);
  if (rc != 0) {
    uv_close(reinterpret_cast<uv_handle_t *>(&w->poll), on_watch_closed);
    Napi::Error::New(env, std::string("uv_poll on pidfd: ") + uv_strerror(rc)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (!info[2].ToBoolean().Value()) uv_unref(reinterpret_cast<uv_handle_t *>(&w->poll));
  t.watches[w->id] = w;
  return Napi::Number::New(env, w->id);
}

// setWatchKeepAlive(id, on): a no-op when the watch has already fired.
Napi::Value SetWatchKeepAlive(const Napi::CallbackInfo &info) {
  int64_t id;
  if (!arg_int(info, 0, 0, UINT32_MAX, "setWatchKeepAlive(id, on)", &id)) return info.Env().Undefined();
  auto it = watch_table().watches.find((uint32_t)id);
  if (it != watch_table().watches.end()) {
    uv_handle_t *h = reinterpret_cast<uv_handle_t *>(&it->second->poll);
    if (info[1].ToBoolean().Value()) uv_ref(h);
    else uv_unref(h);
  }
  return info.Env().Undefined();
}

// ---- small synchronous helpers ----
Napi::Value throw_errno(Napi::Env env, const char *step, int err) {
  Failure f{};
  set_failure(&f, step, nullptr, err);
  failure_error(env, f).ThrowAsJavaScriptException();
  return env.Undefined();
}

// Argument i as an integer within [lo, hi]; throws a TypeError naming `fn` otherwise.
bool arg_int(const Napi::CallbackInfo &info, size_t i, int64_t lo, int64_t hi, const char *fn, int64_t *out) {
  if (integer_in(info[i], lo, hi, out)) return true;
  return throw_type(info.Env(), std::string(fn) + ": argument " + std::to_string(i + 1) + " must be an integer in " +
                                    std::to_string(lo) + ".." + std::to_string(hi));
}

// socketInNetworkNamespace(netnsFd, family 4|6, "tcp"|"udp"): a new socket (non-blocking,
// close-on-exec) that belongs to the network namespace netnsFd for good, e.g. to connect to a
// container's own loopback. Node connects or binds it afterwards (net.Socket({fd}), dgram
// bind({fd})). This thread goes into the namespace for the socket() call only; no JS runs there.
Napi::Value SocketInNetworkNamespace(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const char *usage = "socketInNetworkNamespace(netnsFd, family, protocol)";
  int64_t fd, family;
  if (!arg_int(info, 0, 0, INT32_MAX, usage, &fd) || !arg_int(info, 1, 4, 6, usage, &family)) return env.Undefined();
  if (family != 4 && family != 6) return throw_type(env, std::string(usage) + ": family must be 4 or 6"), env.Undefined();
  std::string proto = info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "";
  if (proto != "tcp" && proto != "udp") return throw_type(env, std::string(usage) + ": protocol must be \"tcp\" or \"udp\""), env.Undefined();
  int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home < 0) return throw_errno(env, "open /proc/thread-self/ns/net", errno);
  if (setns((int)fd, CLONE_NEWNET) < 0) {
    int err = errno;
    close(home);
    return throw_errno(env, "setns(network namespace)", err);
  }
  int sock = socket(family == 4 ? AF_INET : AF_INET6, (proto == "tcp" ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int err = errno;
  // Node's main thread must never stay in a container's network: no way to go on if it would.
  if (setns(home, CLONE_NEWNET) < 0) abort();
  close(home);
  if (sock < 0) return throw_errno(env, "socket", err);
  return Napi::Number::New(env, sock);
}

// udpSendOnDevice(ifname, ipv4, port, payload): one UDP datagram to ipv4:port, sent with the
// socket bound to interface ifname (SO_BINDTODEVICE). A datagram to one of the host's own
// addresses is then seen by its receiver as arriving on ifname: that is how a DHCPRELEASE for a
// bridge's dnsmasq is made without spawning dhcp_release (a fork of the daemon costs
// milliseconds of its event loop). Synchronous: one sendto().
Napi::Value UdpSendOnDevice(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const char *usage = "udpSendOnDevice(ifname, ipv4, port, payload)";
  int64_t port;
  if (!info[0].IsString() || !info[1].IsString() || !info[3].IsBuffer()) return throw_type(env, usage), env.Undefined();
  if (!arg_int(info, 2, 1, 65535, usage, &port)) return env.Undefined();
  std::string ifname = info[0].As<Napi::String>().Utf8Value();
  std::string address = info[1].As<Napi::String>().Utf8Value();
  Napi::Buffer<uint8_t> payload = info[3].As<Napi::Buffer<uint8_t>>();
  if (ifname.empty() || ifname.size() >= IFNAMSIZ) return throw_type(env, std::string(usage) + ": invalid interface name"), env.Undefined();
  struct sockaddr_in dest = {};
  dest.sin_family = AF_INET;
  dest.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, address.c_str(), &dest.sin_addr) != 1) return throw_type(env, std::string(usage) + ": invalid IPv4 address"), env.Undefined();
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return throw_errno(env, "socket", errno);
  if (setsockopt(sock, SOL_SOCKET, SO_BINDTODEVICE, ifname.c_str(), (socklen_t)ifname.size() + 1) < 0) {
    int err = errno;
    close(sock);
    return throw_errno(env, "setsockopt(SO_BINDTODEVICE)", err);
  }
  ssize_t sent = sendto(sock, payload.Data(), payload.Length(), 0, (struct sockaddr *)&dest, sizeof dest);
  int err = errno;
  close(sock);
  if (sent < 0) return throw_errno(env, "sendto", err);
  return env.Undefined();
}

Napi::Value PidfdOpen(const Napi::CallbackInfo &info) {
  int64_t pid;
  if (!arg_int(info, 0, 1, INT32_MAX, "pidfdOpen(pid)", &pid)) return info.Env().Undefined();
  int fd = sys_pidfd_open((int)pid, 0);  // close-on-exec already
  if (fd < 0) return throw_errno(info.Env(), "pidfd_open", errno);
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value PidfdSendSignal(const Napi::CallbackInfo &info) {
  int64_t fd, sig;
  if (!arg_int(info, 0, 0, INT32_MAX, "pidfdSendSignal(pidfd, signal)", &fd) ||
      !arg_int(info, 1, 0, 64, "pidfdSendSignal(pidfd, signal)", &sig))
    return info.Env().Undefined();
  if (sys_pidfd_send_signal((int)fd, (int)sig) < 0) {
    if (errno == ESRCH) return Napi::Boolean::New(info.Env(), false);
    return throw_errno(info.Env(), "pidfd_send_signal", errno);
  }
  return Napi::Boolean::New(info.Env(), true);
}

Napi::Value CloseFd(const Napi::CallbackInfo &info) {
  int64_t fd;
  // Never 0-2: closing Node's stdio by mistake would be silent and far-reaching.
  if (!arg_int(info, 0, 3, INT32_MAX, "closeFd(fd)", &fd)) return info.Env().Undefined();
  close((int)fd);
  return info.Env().Undefined();
}

Napi::Value SetWindowSize(const Napi::CallbackInfo &info) {
  int64_t fd, rows, cols;
  if (!arg_int(info, 0, 0, INT32_MAX, "setWindowSize(fd, rows, cols)", &fd) ||
      !arg_int(info, 1, 1, 65535, "setWindowSize(fd, rows, cols)", &rows) ||
      !arg_int(info, 2, 1, 65535, "setWindowSize(fd, rows, cols)", &cols))
    return info.Env().Undefined();
  struct winsize ws = {(unsigned short)rows, (unsigned short)cols, 0, 0};
  if (ioctl((int)fd, TIOCSWINSZ, &ws) < 0) return throw_errno(info.Env(), "ioctl(TIOCSWINSZ)", errno);
  return info.Env().Undefined();
}

// chattr +a / -a on an open file. Returns false where the filesystem has no such flag.
Napi::Value SetAppendOnly(const Napi::CallbackInfo &info) {
  int64_t fd;
  if (!arg_int(info, 0, 0, INT32_MAX, "setAppendOnly(fd, on)", &fd)) return info.Env().Undefined();
  bool on = info[1].ToBoolean().Value();
  int flags = 0;
  if (ioctl((int)fd, FS_IOC_GETFLAGS, &flags) < 0) {
    if (errno == ENOTTY || errno == EOPNOTSUPP || errno == EINVAL) return Napi::Boolean::New(info.Env(), false);
    return throw_errno(info.Env(), "ioctl(FS_IOC_GETFLAGS)", errno);
  }
  int wanted = on ? (flags | FS_APPEND_FL) : (flags & ~FS_APPEND_FL);
  if (wanted != flags && ioctl((int)fd, FS_IOC_SETFLAGS, &wanted) < 0) {
    if (errno == ENOTTY || errno == EOPNOTSUPP || errno == EINVAL) return Napi::Boolean::New(info.Env(), false);
    return throw_errno(info.Env(), "ioctl(FS_IOC_SETFLAGS)", errno);
  }
  return Napi::Boolean::New(info.Env(), true);
}

Napi::Value ErrnoName(const Napi::CallbackInfo &info) {
  int64_t err;
  if (!arg_int(info, 0, 0, 4095, "errnoName(errno)", &err)) return info.Env().Undefined();
  return Napi::String::New(info.Env(), errno_name((int)err));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Spawn and exec run their children in Node's memory until execve (CLONE_VM). Some of them
  // already carry a container's credentials and sit in its pid namespace; with the mm not
  // dumpable, only a holder of CAP_SYS_PTRACE on the host may read or write it (ptrace,
  // /proc/<pid>/mem, process_vm_*), never a process of the container.
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
    Napi::Error::New(env, "lodge native: prctl(PR_SET_DUMPABLE, 0) failed: " + errno_name(errno))
        .ThrowAsJavaScriptException();
    return exports;
  }
  exports.Set("spawn", Napi::Function::New(env, Spawn));
  exports.Set("resumeSpawn", Napi::Function::New(env, ResumeSpawn));
  exports.Set("abortSpawn", Napi::Function::New(env, AbortSpawn));
  exports.Set("exec", Napi::Function::New(env, Exec));
  exports.Set("watchExit", Napi::Function::New(env, WatchExit));
  exports.Set("setWatchKeepAlive", Napi::Function::New(env, SetWatchKeepAlive));
  napi_add_env_cleanup_hook(env, close_all_watches, nullptr);
  exports.Set("pidfdOpen", Napi::Function::New(env, PidfdOpen));
  exports.Set("socketInNetworkNamespace", Napi::Function::New(env, SocketInNetworkNamespace));
  exports.Set("pidfdSendSignal", Napi::Function::New(env, PidfdSendSignal));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd));
  exports.Set("setWindowSize", Napi::Function::New(env, SetWindowSize));
  exports.Set("setAppendOnly", Napi::Function::New(env, SetAppendOnly));
  exports.Set("errnoName", Napi::Function::New(env, ErrnoName));
  exports.Set("netlinkRequest", Napi::Function::New(env, NetlinkRequest));
  exports.Set("udpSendOnDevice", Napi::Function::New(env, UdpSendOnDevice));
  exports.Set("mountOverlay", Napi::Function::New(env, MountOverlay));
  exports.Set("bindMount", Napi::Function::New(env, BindMount));
  exports.Set("unmount", Napi::Function::New(env, Unmount));
  return exports;
}

}  // namespace
}  // namespace lodge

static Napi::Object InitLodgeNative(Napi::Env env, Napi::Object exports) { return lodge::Init(env, exports); }
NODE_API_MODULE(lodge_native, InitLodgeNative)
