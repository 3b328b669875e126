// How CRI resource limits become cgroup file writes, for cgroup v1 (a hierarchy per controller,
// what this machine has) and v2 (one unified hierarchy). Plain logic: the Linux cgroup manager
// applies the plan; tests assert it directly.
#pragma once

#include <string>
#include <vector>

#include "runtime/jail_spec.h"

namespace stockade {

enum class CgroupVersion { kV1, kV2 };

struct CgroupWrite {
  std::string controller;  // v1: the hierarchy ("cpu", "memory", "pids", "cpuset"); v2: ""
  std::string file;
  std::string value;
  bool operator==(const CgroupWrite& o) const {
    return controller == o.controller && file == o.file && value == o.value;
  }
};

// The writes, in the order to make them (a CFS period before its quota).
std::vector<CgroupWrite> PlanCgroupWrites(CgroupVersion version, const ResourceLimits& limits);

// runc's mapping of cpu.shares [2, 262144] onto cgroup v2's cpu.weight [1, 10000].
int64_t CpuSharesToWeight(int64_t shares);

}  // namespace stockade
