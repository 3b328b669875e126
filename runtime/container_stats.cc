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

namespace {

// Pods' CPU samples sit beside the containers' under this prefix (no container ID has it).
constexpr absl::string_view kPodSample = "pod:";

}  // namespace

std::optional<uint64_t> RuntimeCore::NanoCores(const std::string& key, int64_t at_unix_nano,
                                               uint64_t cpu_ns) {
  std::optional<uint64_t> cores;
  absl::MutexLock lock(&samples_mu_);
  CpuSample& previous = cpu_samples_[key];
  if (previous.at_unix_nano > 0 && at_unix_nano > previous.at_unix_nano &&
      cpu_ns >= previous.cpu_ns) {
    const long double used = static_cast<long double>(cpu_ns - previous.cpu_ns) * 1e9L /
                             static_cast<long double>(at_unix_nano - previous.at_unix_nano);
    cores = static_cast<uint64_t>(used);
  }
  previous = {at_unix_nano, cpu_ns};
  return cores;
}

ContainerStatsView RuntimeCore::StatsOf(ContainerView view, const std::string& scope) {
  ContainerStatsView s;
  s.timestamp_unix_nano = absl::GetCurrentTimeNanos();
  s.usage = deps_.limiter.Usage(scope).value_or(ScopeUsage{});
  s.usage_nano_cores = NanoCores(view.id, s.timestamp_unix_nano, s.usage.cpu_usage_ns);
  if (s.usage.cpu_nano_cores) s.usage_nano_cores = s.usage.cpu_nano_cores;
  if (absl::StatusOr<DiskUsage> disk = deps_.snapshotter.Usage(view.id); disk.ok()) {
    s.writable_layer = *disk;
  }
  s.container = std::move(view);
  return s;
}

PodStatsView RuntimeCore::PodStatsOf(PodSandboxView pod, const v1::PodRecord& record) {
  PodStatsView s;
  s.timestamp_unix_nano = absl::GetCurrentTimeNanos();
  s.usage = deps_.limiter.Usage(record.cgroup_path()).value_or(ScopeUsage{});
  s.usage_nano_cores =
      NanoCores(absl::StrCat(kPodSample, pod.id), s.timestamp_unix_nano, s.usage.cpu_usage_ns);
  if (s.usage.cpu_nano_cores) s.usage_nano_cores = s.usage.cpu_nano_cores;
  s.interfaces = deps_.backend.PodInterfaces(pod.id, pod.network == NamespaceMode::kNode)
                     .value_or(std::vector<InterfaceCounters>{});
  ContainerFilter filter;
  filter.pod_id = pod.id;
  s.containers = ListContainerStats(filter);
  s.pod = std::move(pod);
  return s;
}

absl::StatusOr<PodStatsView> RuntimeCore::PodStats(const std::string& id) {
  absl::StatusOr<PodSandboxView> pod = PodStatus(id);
  if (!pod.ok()) return pod.status();
  if (pod->state != PodState::kReady) {
    return absl::FailedPreconditionError(
        absl::StrCat("pod sandbox ", pod->id, " is not ready: a stopped pod has no stats"));
  }
  std::optional<v1::PodRecord> record = tables_->Pod(pod->id);
  if (!record) return absl::NotFoundError(absl::StrCat("pod sandbox ", id, " not found"));
  return PodStatsOf(*std::move(pod), *record);
}

std::vector<PodStatsView> RuntimeCore::ListPodStats(const PodFilter& filter) {
  PodFilter ready = filter;
  ready.state = PodState::kReady;
  std::vector<PodStatsView> out;
  for (PodSandboxView& pod : ListPods(ready)) {
    std::optional<v1::PodRecord> record = tables_->Pod(pod.id);
    if (!record) continue;
    out.push_back(PodStatsOf(std::move(pod), *record));
  }
  if (filter.id.empty() && filter.labels.empty()) {
    std::set<std::string> listed;
    for (const PodStatsView& s : out) listed.insert(absl::StrCat(kPodSample, s.pod.id));
    absl::MutexLock lock(&samples_mu_);
    for (auto it = cpu_samples_.begin(); it != cpu_samples_.end();) {
      const bool drop = absl::StartsWith(it->first, kPodSample) && listed.count(it->first) == 0;
      it = drop ? cpu_samples_.erase(it) : std::next(it);
    }
  }
  return out;
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
      const bool keep = listed.count(it->first) > 0 || absl::StartsWith(it->first, kPodSample);
      it = keep ? std::next(it) : cpu_samples_.erase(it);
    }
  }
  return out;
}

}  // namespace stockade
