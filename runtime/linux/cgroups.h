// Creates, limits, fills and removes a cgroup on the running host, whichever version it has
// (cgroup v2, or v1 with a hierarchy per controller). Linux only.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/cgroup_plan.h"
#include "runtime/jail_backend.h"

namespace stockade {

class LinuxCgroups {
 public:
  // v2 when `root` is a cgroup2 mount with controllers, else v1.
  static std::unique_ptr<LinuxCgroups> Detect(const std::string& root = "/sys/fs/cgroup");

  CgroupVersion version() const { return version_; }
  // `path` is relative to each hierarchy, e.g. "stockade/pod-1234/ctr-5678".
  absl::Status Create(const std::string& path);
  absl::Status Apply(const std::string& path, const ResourceLimits& limits);
  absl::Status AddProcess(const std::string& path, pid_t pid);
  // The files a new, still single-threaded process writes "0" to, to enter the cgroup itself:
  // v2, its cgroup.procs (or none at all: clone3 CLONE_INTO_CGROUP, clone_in_cgroup.h); v1,
  // each hierarchy's `tasks`. A v1 write of "0" to `tasks` moves the calling thread alone, for
  // which the kernel skips the global cgroup_threadgroup_rwsem; the same write to cgroup.procs
  // takes it, and waits for an RCU grace period when it was idle (here: 7.9 ms on average,
  // 17 ms at most, against 0.05 ms).
  std::vector<std::string> ProcsFiles(const std::string& path) const;
  // How many times the OOM killer has killed in the cgroup.
  absl::StatusOr<int64_t> OomKills(const std::string& path) const;
  // SIGKILLs every process in the cgroup (cgroup.kill on v2; on v1 each pid of cgroup.procs,
  // again until none is left or a bound passes); a missing cgroup is no error.
  absl::Status KillAll(const std::string& path);
  // CPU time and memory of the cgroup (v1: cpuacct.usage, memory.usage_in_bytes and
  // memory.stat's total_*; v2: cpu.stat, memory.current and memory.stat), read once each.
  absl::StatusOr<ScopeUsage> Usage(const std::string& path) const;
  // Removes the cgroup, killing what is left in it and waiting for the kernel to empty it;
  // removing what is gone succeeds.
  absl::Status Remove(const std::string& path);

 private:
  LinuxCgroups(std::string root, CgroupVersion version)
      : root_(std::move(root)), version_(version) {}
  std::vector<std::string> Dirs(const std::string& path) const;
  std::string Dir(const std::string& controller, const std::string& path) const;

  std::string root_;
  CgroupVersion version_;
};

}  // namespace stockade
