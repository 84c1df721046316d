// Confinement applied right before exec: Lodge's default seccomp filter, then the capability
// drop. The filter is built once in the parent (plain C++), loaded in the child (raw syscalls).
//
// Default policy (LXD's default list plus kexec_file_load): kexec_load, kexec_file_load,
// open_by_handle_at, init_module, finit_module, delete_module fail with EPERM, and so does
// umount2 with MNT_FORCE. The same calls are refused through the x32 and i386 entry points.
#include "common.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace lodge {

namespace {

constexpr uint32_t kX32Bit = 0x40000000;

struct Arch {
  uint32_t audit_arch;
  bool mask_x32;
  std::vector<uint32_t> denied;
  int umount2_nr;  // -1 when the arch has no umount2 entry to filter
};

std::vector<Arch> default_policy() {
  std::vector<Arch> arches;
#if defined(__x86_64__)
  arches.push_back({AUDIT_ARCH_X86_64,
                    true,
                    {__NR_kexec_load, __NR_kexec_file_load, __NR_open_by_handle_at, __NR_init_module,
                     __NR_finit_module, __NR_delete_module, 528 /* x32 kexec_load */},
                    __NR_umount2});
  // i386 compat entry points (numbers from the i386 syscall table).
  arches.push_back({AUDIT_ARCH_I386, false, {283 /*kexec_load*/, 342 /*open_by_handle_at*/,
                                             128 /*init_module*/, 350 /*finit_module*/,
                                             129 /*delete_module*/},
                    52 /*umount2*/});
#elif defined(__aarch64__)
  arches.push_back({AUDIT_ARCH_AARCH64,
                    false,
                    {__NR_kexec_load, __NR_kexec_file_load, __NR_open_by_handle_at, __NR_init_module,
                     __NR_finit_module, __NR_delete_module},
                    __NR_umount2});
#else
#error "Lodge's seccomp policy knows x86_64 and aarch64"
#endif
  return arches;
}

sock_filter stmt(uint16_t code, uint32_t k) { return sock_filter{code, 0, 0, k}; }
sock_filter jump(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) { return sock_filter{code, jt, jf, k}; }

constexpr uint32_t kDeny = SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA);

}  // namespace

SeccompProgram build_default_seccomp() {
  // Layout: one block per arch; each block loads nr, compares against the denied list and
  // umount2, and returns. Blocks are reached through an arch dispatch at the top.
  std::vector<Arch> arches = default_policy();
  std::vector<std::vector<sock_filter>> blocks;
  for (const Arch &a : arches) {
    std::vector<sock_filter> b;
    b.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)));
    if (a.mask_x32) b.push_back(stmt(BPF_ALU | BPF_AND | BPF_K, ~kX32Bit));
    // Each denied number: if equal -> jump to the deny return at the end of the block.
    size_t n = a.denied.size();
    bool has_umount = a.umount2_nr >= 0;
    // tail of block: [umount2 check (4 insns)] ALLOW, DENY
    for (size_t i = 0; i < n; i++) {
      size_t remaining = n - i - 1;  // compares after this one
      uint8_t to_deny = (uint8_t)(remaining + (has_umount ? 4 : 0) + 1);
      b.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, a.denied[i], to_deny, 0));
    }
    if (has_umount) {
      // if nr == umount2: load args[1] (flags, low 32 bits) and deny when MNT_FORCE is set
      b.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)a.umount2_nr, 0, 2));
      b.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[1])));
      b.push_back(jump(BPF_JMP | BPF_JSET | BPF_K, MNT_FORCE, 2, 0));
      b.push_back(stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));  // umount2 without MNT_FORCE
    }
    b.push_back(stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
    b.push_back(stmt(BPF_RET | BPF_K, kDeny));
    blocks.push_back(std::move(b));
  }
  std::vector<sock_filter> prog;
  prog.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)));
  // dispatch: arch i -> block i; an unknown arch (e.g. 32-bit ARM on an arm64 host) is killed
  size_t dispatch_len = arches.size() + 1;
  size_t offset = 0;  // distance from end of dispatch to the start of block i
  for (size_t i = 0; i < arches.size(); i++) {
    size_t after_this = dispatch_len - i - 1;  // instructions between this jump and the blocks
    prog.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, arches[i].audit_arch, (uint8_t)(after_this + offset), 0));
    offset += blocks[i].size();
  }
  prog.push_back(stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
  for (auto &b : blocks) prog.insert(prog.end(), b.begin(), b.end());

  SeccompProgram out;
  out.raw.resize(prog.size());
  memcpy(out.raw.data(), prog.data(), prog.size() * sizeof(sock_filter));
  return out;
}

int confine_before_ids(const ConfineSpec &spec, const SeccompProgram &prog, Failure *f) {
  // Seccomp first: loading a filter without no_new_privs needs CAP_SYS_ADMIN, which a system
  // container's root keeps (system containers run setuid programs, so no_new_privs stays off).
  if (spec.seccomp && !prog.raw.empty()) {
    struct sock_fprog fprog;
    fprog.len = (unsigned short)prog.raw.size();
    fprog.filter = (struct sock_filter *)prog.raw.data();
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) < 0) {
      set_failure(f, "seccomp(SECCOMP_SET_MODE_FILTER)", nullptr, errno);
      return -1;
    }
  }
  // The bounding set needs CAP_SETPCAP, which the id change may take away.
  for (int cap : spec.drop_caps) {
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) {
      set_failure(f, "prctl(PR_CAPBSET_DROP)", nullptr, errno);
      return -1;
    }
  }
  return 0;
}

int drop_capabilities(const ConfineSpec &spec, Failure *f) {
  if (!spec.drop_caps.empty()) {
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capget, &hdr, data) < 0) {
      set_failure(f, "capget", nullptr, errno);
      return -1;
    }
    for (int cap : spec.drop_caps) {
      if (cap < 0 || cap >= 64) continue;
      uint32_t bit = 1u << (cap % 32);
      data[cap / 32].effective &= ~bit;
      data[cap / 32].permitted &= ~bit;
      data[cap / 32].inheritable &= ~bit;
    }
    if (syscall(SYS_capset, &hdr, data) < 0) {
      set_failure(f, "capset", nullptr, errno);
      return -1;
    }
  }
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  return 0;
}

}  // namespace lodge
