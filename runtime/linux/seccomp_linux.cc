#include <linux/capability.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "runtime/common/errors.h"
#include "runtime/common/unique_fd.h"
#include "runtime/linux/seccomp.h"

namespace stockade {
namespace {

struct DeniedCall {
  const char* name;
  int unless_capability;  // -1: denied whatever the capabilities
};

// From the deny side of moby's profiles/seccomp/default.json and containerd's
// contrib/seccomp: what they never allow, or allow only with a capability.
constexpr DeniedCall kDenied[] = {
    {"acct", CAP_SYS_PACCT},
    {"add_key", -1},
    {"bpf", CAP_SYS_ADMIN},
    {"clock_adjtime", CAP_SYS_TIME},
    {"clock_settime", CAP_SYS_TIME},
    {"create_module", CAP_SYS_MODULE},
    {"delete_module", CAP_SYS_MODULE},
    {"finit_module", CAP_SYS_MODULE},
    {"fsconfig", CAP_SYS_ADMIN},
    {"fsmount", CAP_SYS_ADMIN},
    {"fsopen", CAP_SYS_ADMIN},
    {"fspick", CAP_SYS_ADMIN},
    {"get_kernel_syms", CAP_SYS_MODULE},
    {"get_mempolicy", CAP_SYS_NICE},
    {"init_module", CAP_SYS_MODULE},
    {"ioperm", CAP_SYS_RAWIO},
    {"iopl", CAP_SYS_RAWIO},
    {"kcmp", CAP_SYS_PTRACE},
    {"kexec_file_load", CAP_SYS_BOOT},
    {"kexec_load", CAP_SYS_BOOT},
    {"keyctl", -1},
    {"lookup_dcookie", CAP_SYS_ADMIN},
    {"mbind", CAP_SYS_NICE},
    {"mount", CAP_SYS_ADMIN},
    {"move_mount", CAP_SYS_ADMIN},
    {"move_pages", CAP_SYS_NICE},
    {"name_to_handle_at", CAP_DAC_READ_SEARCH},
    {"nfsservctl", -1},
    {"open_by_handle_at", CAP_DAC_READ_SEARCH},
    {"open_tree", CAP_SYS_ADMIN},
    {"perf_event_open", CAP_SYS_ADMIN},
    {"pivot_root", CAP_SYS_ADMIN},
    {"process_vm_readv", CAP_SYS_PTRACE},
    {"process_vm_writev", CAP_SYS_PTRACE},
    {"ptrace", CAP_SYS_PTRACE},
    {"query_module", CAP_SYS_MODULE},
    {"quotactl", CAP_SYS_ADMIN},
    {"reboot", CAP_SYS_BOOT},
    {"request_key", -1},
    {"set_mempolicy", CAP_SYS_NICE},
    {"setns", CAP_SYS_ADMIN},
    {"settimeofday", CAP_SYS_TIME},
    {"stime", CAP_SYS_TIME},
    {"swapoff", CAP_SYS_ADMIN},
    {"swapon", CAP_SYS_ADMIN},
    {"sysfs", -1},
    {"_sysctl", -1},
    {"umount", CAP_SYS_ADMIN},
    {"umount2", CAP_SYS_ADMIN},
    {"unshare", CAP_SYS_ADMIN},
    {"uselib", -1},
    {"userfaultfd", CAP_SYS_PTRACE},
    {"ustat", -1},
    {"vm86", -1},
    {"vm86old", -1},
};

}  // namespace

absl::StatusOr<std::vector<uint64_t>> RuntimeDefaultSeccompFilter(
    const std::vector<int>& capabilities) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == nullptr) return absl::InternalError("seccomp_init failed");
  struct Release {
    scmp_filter_ctx ctx;
    ~Release() { seccomp_release(ctx); }
  } release{ctx};
  for (const DeniedCall& call : kDenied) {
    if (call.unless_capability >= 0 && std::find(capabilities.begin(), capabilities.end(),
                                                 call.unless_capability) != capabilities.end()) {
      continue;
    }
    const int nr = seccomp_syscall_resolve_name(call.name);
    if (nr == __NR_SCMP_ERROR || nr < 0) continue;  // not a call of this architecture
    if (int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0); rc != 0) {
      return ErrnoError(-rc, std::string("seccomp rule for ") + call.name);
    }
  }
  UniqueFd fd(::memfd_create("seccomp-bpf", MFD_CLOEXEC));
  if (!fd) return ErrnoError(errno, "memfd_create");
  if (int rc = seccomp_export_bpf(ctx, fd.get()); rc != 0) {
    return ErrnoError(-rc, "export the seccomp program");
  }
  const off_t size = ::lseek(fd.get(), 0, SEEK_END);
  if (size <= 0 || size % 8 != 0) return absl::InternalError("the seccomp program is empty");
  std::vector<uint64_t> program(static_cast<size_t>(size) / 8);
  if (::pread(fd.get(), program.data(), static_cast<size_t>(size), 0) != size) {
    return ErrnoError(errno, "read the seccomp program");
  }
  return program;
}

}  // namespace stockade
