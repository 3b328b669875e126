#include <fcntl.h>
#include <signal.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "runtime/linux/clone_in_cgroup.h"

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL  // Linux 5.7
#endif
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

namespace stockade {
namespace {

// struct clone_args up to its cgroup field (CLONE_ARGS_SIZE_VER2), as <linux/sched.h> has it.
struct CloneArgs {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
      set_tid_size, cgroup;
};
static_assert(sizeof(CloneArgs) == 88, "CLONE_ARGS_SIZE_VER2");

}  // namespace

UniqueFd OpenCgroup2Directory(const std::vector<std::string>& procs_files) {
  if (procs_files.size() != 1) return UniqueFd();
  const std::string& file = procs_files.front();
  const size_t slash = file.rfind('/');
  if (slash == std::string::npos || file.substr(slash + 1) != "cgroup.procs") return UniqueFd();
  UniqueFd dir(::open(file.substr(0, slash).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  struct statfs fs;
  if (!dir || ::fstatfs(dir.get(), &fs) != 0 || fs.f_type != CGROUP2_SUPER_MAGIC) {
    return UniqueFd();
  }
  return dir;
}

pid_t CloneInCgroup(int flags, const UniqueFd& cgroup, bool* in_cgroup) {
  if (cgroup) {
    CloneArgs args{};
    args.flags = static_cast<uint64_t>(flags) | CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = static_cast<uint64_t>(cgroup.get());
    const long pid = ::syscall(SYS_clone3, &args, sizeof(args));
    if (pid >= 0) {
      *in_cgroup = true;
      return static_cast<pid_t>(pid);
    }
    // Only a kernel or a seccomp filter without clone3 or CLONE_INTO_CGROUP falls back; any
    // other error (EAGAIN from the cgroup's pids.max) is the caller's, as clone's would be.
    if (errno != ENOSYS && errno != EPERM && errno != E2BIG && errno != EINVAL) return -1;
  }
  *in_cgroup = false;
  return static_cast<pid_t>(::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, 0));
}

}  // namespace stockade
