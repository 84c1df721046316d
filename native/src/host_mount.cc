// Host-side mounts for the storage pool (an instance's overlay or bind mount while the daemon
// writes into it), made by the daemon itself: running mount(8)/umount(8) forks the daemon, which
// blocks its event loop for milliseconds per call. Each call runs on libuv's threadpool, so an
// unmount that waits for the kernel (RCU, busy filesystems) never stalls the daemon.
#include <napi.h>
#include <errno.h>
#include <string.h>
#include <sys/mount.h>

#include <string>

#include "common.h"

namespace lodge {
namespace {

enum class Op { Overlay, Bind, Unmount, Detach };

class HostMountWorker : public Napi::AsyncWorker {
 public:
  HostMountWorker(Napi::Env env, Op op, std::string a, std::string b, std::string data)
      : Napi::AsyncWorker(env, "lodge:host-mount"), op_(op), a_(std::move(a)), b_(std::move(b)), data_(std::move(data)),
        deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    int rc = 0;
    switch (op_) {
      case Op::Overlay:  // a = target, data = overlay options
        step_ = "mount(overlay) " + a_;
        rc = mount("lodge-overlay", a_.c_str(), "overlay", 0, data_.c_str());
        break;
      case Op::Bind:  // a = source, b = target
        step_ = "mount(bind) " + b_;
        rc = mount(a_.c_str(), b_.c_str(), nullptr, MS_BIND, nullptr);
        break;
      case Op::Unmount:
        step_ = "umount " + a_;
        rc = umount2(a_.c_str(), UMOUNT_NOFOLLOW);
        break;
      case Op::Detach:
        step_ = "umount --lazy " + a_;
        rc = umount2(a_.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
        break;
    }
    err_ = rc < 0 ? errno : 0;
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (err_ == 0) {
      deferred_.Resolve(env.Undefined());
      return;
    }
    Napi::Error e = Napi::Error::New(env, step_ + ": " + strerror(err_));
    e.Set("code", Napi::String::New(env, errno_name(err_)));
    e.Set("errno", Napi::Number::New(env, err_));
    e.Set("step", Napi::String::New(env, step_));
    deferred_.Reject(e.Value());
  }

 private:
  Op op_;
  std::string a_, b_, data_;
  std::string step_;
  int err_ = 0;
  Napi::Promise::Deferred deferred_;
};

bool string_args(const Napi::CallbackInfo &info, size_t n, const char *usage) {
  for (size_t i = 0; i < n; i++) {
    if (!info[i].IsString() || info[i].As<Napi::String>().Utf8Value().empty()) {
      Napi::TypeError::New(info.Env(), std::string(usage) + ": argument " + std::to_string(i + 1) + " must be a non-empty string")
          .ThrowAsJavaScriptException();
      return false;
    }
  }
  return true;
}

Napi::Value Queue(Napi::Env env, Op op, std::string a, std::string b, std::string data) {
  auto *w = new HostMountWorker(env, op, std::move(a), std::move(b), std::move(data));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

}  // namespace

// mountOverlay(target, options) -> Promise<void>: an overlay ("lowerdir=…,upperdir=…,workdir=…") on target.
Napi::Value MountOverlay(const Napi::CallbackInfo &info) {
  if (!string_args(info, 2, "mountOverlay(target, options)")) return info.Env().Undefined();
  return Queue(info.Env(), Op::Overlay, info[0].As<Napi::String>(), "", info[1].As<Napi::String>());
}

// bindMount(source, target) -> Promise<void>
Napi::Value BindMount(const Napi::CallbackInfo &info) {
  if (!string_args(info, 2, "bindMount(source, target)")) return info.Env().Undefined();
  return Queue(info.Env(), Op::Bind, info[0].As<Napi::String>(), info[1].As<Napi::String>(), "");
}

// unmount(target, lazy) -> Promise<void>: umount2 without following a final symlink; lazy = MNT_DETACH.
Napi::Value Unmount(const Napi::CallbackInfo &info) {
  if (!string_args(info, 1, "unmount(target, lazy)")) return info.Env().Undefined();
  bool lazy = info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value();
  return Queue(info.Env(), lazy ? Op::Detach : Op::Unmount, info[0].As<Napi::String>(), "", "");
}

}  // namespace lodge
