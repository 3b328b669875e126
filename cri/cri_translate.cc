#include "cri/cri_translate.h"

namespace stockade {

ResourceLimits ToLimits(const runtime::v1::LinuxContainerResources& r) {
  ResourceLimits l;
  if (r.memory_limit_in_bytes() != 0) l.memory_limit_bytes = r.memory_limit_in_bytes();
  if (r.cpu_quota() != 0) l.cpu_quota_us = r.cpu_quota();
  if (r.cpu_period() != 0) l.cpu_period_us = r.cpu_period();
  if (r.cpu_shares() != 0) l.cpu_shares = r.cpu_shares();
  l.cpuset_cpus = r.cpuset_cpus();
  return l;
}

void FromLimits(const ResourceLimits& l, runtime::v1::LinuxContainerResources& out) {
  out.set_memory_limit_in_bytes(l.memory_limit_bytes.value_or(0));
  out.set_cpu_quota(l.cpu_quota_us.value_or(0));
  out.set_cpu_period(l.cpu_period_us.value_or(0));
  out.set_cpu_shares(l.cpu_shares.value_or(0));
  out.set_cpuset_cpus(l.cpuset_cpus);
}

}  // namespace stockade
