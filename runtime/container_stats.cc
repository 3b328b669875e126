// ContainerStats and ListContainerStats: a container's CPU and memory from its resource scope,
// read once per call (kubelet lists every 10-15 s), with usage_nano_cores from the previous
// sample. Containers are listed in every state but CREATING, as containerd does, with zeros
// for those whose scope holds nothing yet.
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "runtime/core_tables.h"
#include "runtime/runtime_core.h"

namespace stockade {

ContainerStatsView RuntimeCore::StatsOf(ContainerView view, const std::string& scope) {
  ContainerStatsView s;
  s.timestamp_unix_nano = absl::GetCurrentTimeNanos();
  s.usage = deps_.limiter.Usage(scope).value_or(ScopeUsage{});
  {
    absl::MutexLock lock(&samples_mu_);
    CpuSample& previous = cpu_samples_[view.id];
    if (previous.at_unix_nano > 0 && s.timestamp_unix_nano > previous.at_unix_nano &&
        s.usage.cpu_usage_ns >= previous.cpu_ns) {
      const long double cores =
          static_cast<long double>(s.usage.cpu_usage_ns - previous.cpu_ns) * 1e9L /
          static_cast<long double>(s.timestamp_unix_nano - previous.at_unix_nano);
      s.usage_nano_cores = static_cast<uint64_t>(cores);
    }
    previous = {s.timestamp_unix_nano, s.usage.cpu_usage_ns};
  }
  s.container = std::move(view);
  return s;
}

absl::StatusOr<ContainerStatsView> RuntimeCore::ContainerStats(const std::string& id_prefix) {
  absl::StatusOr<ContainerView> view = ContainerStatus(id_prefix);
  if (!view.ok()) return view.status();
  std::optional<v1::ContainerRecord> c = tables_->Container(view->id);
  if (!c) return absl::NotFoundError(absl::StrCat("container ", id_prefix, " not found"));
  return StatsOf(*std::move(view), c->cgroup_path());
}

std::vector<ContainerStatsView> RuntimeCore::ListContainerStats(const ContainerFilter& filter) {
  std::vector<ContainerStatsView> out;
  std::set<std::string> listed;
  for (ContainerView& view : ListContainers(filter)) {
    std::optional<v1::ContainerRecord> c = tables_->Container(view.id);
    if (!c) continue;  // removed since the listing
    listed.insert(view.id);
    out.push_back(StatsOf(std::move(view), c->cgroup_path()));
  }
  if (filter.id.empty() && filter.pod_id.empty() && filter.labels.empty()) {
    // Samples of containers that are gone go with them.
    absl::MutexLock lock(&samples_mu_);
    for (auto it = cpu_samples_.begin(); it != cpu_samples_.end();) {
      it = listed.count(it->first) > 0 ? std::next(it) : cpu_samples_.erase(it);
    }
  }
  return out;
}

}  // namespace stockade
