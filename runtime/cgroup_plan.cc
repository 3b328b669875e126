#include "runtime/cgroup_plan.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace stockade {

int64_t CpuSharesToWeight(int64_t shares) {
  shares = std::clamp<int64_t>(shares, 2, 262144);
  return 1 + ((shares - 2) * 9999) / 262142;
}

std::vector<CgroupWrite> PlanCgroupWrites(CgroupVersion version, const ResourceLimits& limits) {
  std::vector<CgroupWrite> w;
  const bool v1 = version == CgroupVersion::kV1;
  if (limits.cpu_shares && *limits.cpu_shares > 0) {
    if (v1) {
      w.push_back(
          {"cpu", "cpu.shares", absl::StrCat(std::clamp<int64_t>(*limits.cpu_shares, 2, 262144))});
    } else {
      w.push_back({"", "cpu.weight", absl::StrCat(CpuSharesToWeight(*limits.cpu_shares))});
    }
  }
  const bool has_period = limits.cpu_period_us && *limits.cpu_period_us > 0;
  const bool has_quota = limits.cpu_quota_us && *limits.cpu_quota_us > 0;
  if (has_period || has_quota) {
    const int64_t period = has_period ? *limits.cpu_period_us : 100000;
    if (v1) {
      w.push_back({"cpu", "cpu.cfs_period_us", absl::StrCat(period)});
      if (has_quota) w.push_back({"cpu", "cpu.cfs_quota_us", absl::StrCat(*limits.cpu_quota_us)});
    } else {
      w.push_back(
          {"", "cpu.max",
           absl::StrCat(has_quota ? absl::StrCat(*limits.cpu_quota_us) : "max", " ", period)});
    }
  }
  if (limits.memory_limit_bytes && *limits.memory_limit_bytes > 0) {
    const std::string bytes = absl::StrCat(*limits.memory_limit_bytes);
    if (v1) {
      w.push_back({"memory", "memory.limit_in_bytes", bytes});
    } else {
      w.push_back({"", "memory.max", bytes});
      // Memory and swap together capped at the limit, as containerd does: no swap on top.
      w.push_back({"", "memory.swap.max", "0"});
    }
  }
  if (limits.pids_limit && *limits.pids_limit > 0) {
    w.push_back({v1 ? "pids" : "", "pids.max", absl::StrCat(*limits.pids_limit)});
  }
  if (!limits.cpuset_cpus.empty()) {
    w.push_back({v1 ? "cpuset" : "", "cpuset.cpus", limits.cpuset_cpus});
  }
  return w;
}

}  // namespace stockade
