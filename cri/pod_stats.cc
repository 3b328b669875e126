// PodSandboxStats and ListPodSandboxStats: the pod's resource scope (CPU, memory, processes),
// its interfaces' counters, and its containers' stats, as kubelet's CRI stats provider reads
// them (the only source on FreeBSD, where there is no cAdvisor).
#include "cri/cri_translate.h"
#include "cri/runtime_service.h"
#include "runtime/runtime_core.h"

namespace stockade {
namespace {

void FillInterface(const InterfaceCounters& c, runtime::v1::NetworkInterfaceUsage& out) {
  out.set_name(c.name);
  out.mutable_rx_bytes()->set_value(c.rx_bytes);
  out.mutable_rx_errors()->set_value(c.rx_errors);
  out.mutable_tx_bytes()->set_value(c.tx_bytes);
  out.mutable_tx_errors()->set_value(c.tx_errors);
}

void FillPodStats(const PodStatsView& s, runtime::v1::PodSandboxStats& out) {
  runtime::v1::PodSandboxAttributes& a = *out.mutable_attributes();
  a.set_id(s.pod.id);
  a.mutable_metadata()->set_name(s.pod.name);
  a.mutable_metadata()->set_namespace_(s.pod.ns);
  a.mutable_metadata()->set_uid(s.pod.uid);
  a.mutable_metadata()->set_attempt(s.pod.attempt);
  a.mutable_labels()->insert(s.pod.labels.begin(), s.pod.labels.end());
  a.mutable_annotations()->insert(s.pod.annotations.begin(), s.pod.annotations.end());
  runtime::v1::LinuxPodSandboxStats& linux = *out.mutable_linux();
  FillCpuUsage(s.timestamp_unix_nano, s.usage, s.usage_nano_cores, *linux.mutable_cpu());
  FillMemoryUsage(s.timestamp_unix_nano, s.usage, *linux.mutable_memory());
  runtime::v1::ProcessUsage& process = *linux.mutable_process();
  process.set_timestamp(s.timestamp_unix_nano);
  process.mutable_process_count()->set_value(s.usage.process_count);
  if (!s.interfaces.empty()) {
    runtime::v1::NetworkUsage& network = *linux.mutable_network();
    network.set_timestamp(s.timestamp_unix_nano);
    // The pod's first interface (eth0 from the CNI plugin) is its default one, as containerd.
    FillInterface(s.interfaces.front(), *network.mutable_default_interface());
    for (const InterfaceCounters& c : s.interfaces) FillInterface(c, *network.add_interfaces());
  }
  for (const ContainerStatsView& c : s.containers) {
    FillContainerStats(c, *linux.add_containers());
  }
}

}  // namespace

absl::Status RuntimeServiceImpl::DoPodSandboxStats(
    const runtime::v1::PodSandboxStatsRequest& request,
    runtime::v1::PodSandboxStatsResponse& response) {
  if (request.pod_sandbox_id().empty()) {
    return absl::InvalidArgumentError("pod_sandbox_id is required");
  }
  absl::StatusOr<PodStatsView> stats = core_.PodStats(request.pod_sandbox_id());
  if (!stats.ok()) return stats.status();
  FillPodStats(*stats, *response.mutable_stats());
  return absl::OkStatus();
}

absl::Status RuntimeServiceImpl::DoListPodSandboxStats(
    const runtime::v1::ListPodSandboxStatsRequest& request,
    runtime::v1::ListPodSandboxStatsResponse& response) {
  PodFilter filter;
  filter.id = request.filter().id();
  filter.labels.insert(request.filter().label_selector().begin(),
                       request.filter().label_selector().end());
  for (const PodStatsView& s : core_.ListPodStats(filter)) FillPodStats(s, *response.add_stats());
  return absl::OkStatus();
}

}  // namespace stockade
