// RunPodSandbox, StopPodSandbox, RemovePodSandbox, PodSandboxStatus, ListPodSandbox and
// UpdatePodSandboxResources: CRI messages to RuntimeCore calls and back.
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cri/cri_translate.h"
#include "cri/runtime_service.h"
#include "nlohmann/json.hpp"
#include "runtime/runtime_core.h"

namespace stockade {
namespace {

runtime::v1::PodSandboxState ToCri(PodState state) {
  return state == PodState::kReady ? runtime::v1::SANDBOX_READY : runtime::v1::SANDBOX_NOTREADY;
}

// A Kubernetes quantity ("10M", "1Gi", "500k") in bits per second; 0 if unset or unreadable.
int64_t BandwidthQuantity(const std::map<std::string, std::string>& annotations,
                          const std::string& key) {
  auto it = annotations.find(key);
  if (it == annotations.end()) return 0;
  static const std::pair<const char*, double> kSuffixes[] = {
      {"Ki", 1024.0}, {"Mi", 1048576.0}, {"Gi", 1073741824.0}, {"Ti", 1099511627776.0},
      {"k", 1e3},     {"M", 1e6},        {"G", 1e9},           {"T", 1e12}};
  std::string text = it->second;
  double factor = 1;
  for (const auto& [suffix, f] : kSuffixes) {
    if (absl::EndsWith(text, suffix)) {
      factor = f;
      text.resize(text.size() - std::strlen(suffix));
      break;
    }
  }
  double value = 0;
  if (!absl::SimpleAtod(text, &value) || value <= 0) return 0;
  return static_cast<int64_t>(value * factor);
}

void FillMetadata(const PodSandboxView& pod, runtime::v1::PodSandboxMetadata& out) {
  out.set_name(pod.name);
  out.set_namespace_(pod.ns);
  out.set_uid(pod.uid);
  out.set_attempt(pod.attempt);
}

}  // namespace

absl::Status RuntimeServiceImpl::DoRunPodSandbox(const runtime::v1::RunPodSandboxRequest& request,
                                                 runtime::v1::RunPodSandboxResponse& response) {
  if (!request.has_config() || !request.config().has_metadata()) {
    return absl::InvalidArgumentError("config.metadata is required");
  }
  if (!request.runtime_handler().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("runtime handler \"", request.runtime_handler(),
                     "\" is not configured: stockaded has only the default (\"\") handler"));
  }
  const runtime::v1::PodSandboxConfig& config = request.config();
  PodSandboxSpec spec;
  spec.name = config.metadata().name();
  spec.ns = config.metadata().namespace_();
  spec.uid = config.metadata().uid();
  spec.attempt = config.metadata().attempt();
  spec.hostname = config.hostname();
  spec.log_directory = config.log_directory();
  spec.runtime_handler = request.runtime_handler();
  spec.labels.insert(config.labels().begin(), config.labels().end());
  spec.annotations.insert(config.annotations().begin(), config.annotations().end());
  spec.dns.servers.assign(config.dns_config().servers().begin(),
                          config.dns_config().servers().end());
  spec.dns.searches.assign(config.dns_config().searches().begin(),
                           config.dns_config().searches().end());
  spec.dns.options.assign(config.dns_config().options().begin(),
                          config.dns_config().options().end());
  const runtime::v1::LinuxPodSandboxConfig& linux = config.linux();
  spec.cgroup_parent = linux.cgroup_parent();
  spec.sysctls.insert(linux.sysctls().begin(), linux.sysctls().end());
  const runtime::v1::NamespaceOption& ns = linux.security_context().namespace_options();
  spec.network = static_cast<NamespaceMode>(ns.network());
  spec.pid = static_cast<NamespaceMode>(ns.pid());
  spec.ipc = static_cast<NamespaceMode>(ns.ipc());
  // As containerd: only mappings with a host port go to the portmap capability.
  for (const runtime::v1::PortMapping& m : config.port_mappings()) {
    if (m.host_port() <= 0) continue;
    const char* protocol = m.protocol() == runtime::v1::UDP    ? "udp"
                           : m.protocol() == runtime::v1::SCTP ? "sctp"
                                                               : "tcp";
    spec.port_mappings.push_back({m.host_port(), m.container_port(), protocol, m.host_ip()});
  }
  spec.ingress_bits_per_second =
      BandwidthQuantity(spec.annotations, "kubernetes.io/ingress-bandwidth");
  spec.egress_bits_per_second =
      BandwidthQuantity(spec.annotations, "kubernetes.io/egress-bandwidth");
  absl::StatusOr<std::string> id = core_.RunPod(spec);
  if (!id.ok()) return id.status();
  response.set_pod_sandbox_id(*id);
  return absl::OkStatus();
}

absl::Status RuntimeServiceImpl::DoStopPodSandbox(const runtime::v1::StopPodSandboxRequest& request,
                                                  runtime::v1::StopPodSandboxResponse&) {
  if (request.pod_sandbox_id().empty()) {
    return absl::InvalidArgumentError("pod_sandbox_id is required");
  }
  return core_.StopPod(request.pod_sandbox_id());
}

absl::Status RuntimeServiceImpl::DoRemovePodSandbox(
    const runtime::v1::RemovePodSandboxRequest& request, runtime::v1::RemovePodSandboxResponse&) {
  if (request.pod_sandbox_id().empty()) {
    return absl::InvalidArgumentError("pod_sandbox_id is required");
  }
  return core_.RemovePod(request.pod_sandbox_id());
}

absl::Status RuntimeServiceImpl::DoPodSandboxStatus(
    const runtime::v1::PodSandboxStatusRequest& request,
    runtime::v1::PodSandboxStatusResponse& response) {
  if (request.pod_sandbox_id().empty()) {
    return absl::InvalidArgumentError("pod_sandbox_id is required");
  }
  absl::StatusOr<PodSandboxView> pod = core_.PodStatus(request.pod_sandbox_id());
  if (!pod.ok()) return pod.status();
  runtime::v1::PodSandboxStatus& status = *response.mutable_status();
  status.set_id(pod->id);
  FillMetadata(*pod, *status.mutable_metadata());
  status.set_state(ToCri(pod->state));
  status.set_created_at(pod->created_at_unix_nano);
  if (!pod->ips.empty()) {
    status.mutable_network()->set_ip(pod->ips.front());
    for (size_t i = 1; i < pod->ips.size(); ++i) {
      status.mutable_network()->add_additional_ips()->set_ip(pod->ips[i]);
    }
  } else {
    status.mutable_network();
  }
  runtime::v1::NamespaceOption& ns =
      *status.mutable_linux()->mutable_namespaces()->mutable_options();
  ns.set_network(static_cast<runtime::v1::NamespaceMode>(pod->network));
  ns.set_pid(static_cast<runtime::v1::NamespaceMode>(pod->pid));
  ns.set_ipc(static_cast<runtime::v1::NamespaceMode>(pod->ipc));
  status.mutable_labels()->insert(pod->labels.begin(), pod->labels.end());
  status.mutable_annotations()->insert(pod->annotations.begin(), pod->annotations.end());
  status.set_runtime_handler(pod->runtime_handler);
  if (request.verbose()) {
    nlohmann::json info = {{"id", pod->id},
                           {"state", PodStateName(pod->state)},
                           {"hostname", pod->hostname},
                           {"netNamespacePath", pod->network_namespace_path},
                           {"logDirectory", pod->log_directory},
                           {"runDirectory", core_.PodDir(pod->id)},
                           {"message", pod->message}};
    (*response.mutable_info())["info"] = info.dump();
  }
  return absl::OkStatus();
}

absl::Status RuntimeServiceImpl::DoListPodSandbox(const runtime::v1::ListPodSandboxRequest& request,
                                                  runtime::v1::ListPodSandboxResponse& response) {
  PodFilter filter;
  filter.id = request.filter().id();
  if (request.filter().has_state()) {
    filter.state = request.filter().state().state() == runtime::v1::SANDBOX_READY
                       ? PodState::kReady
                       : PodState::kNotReady;
  }
  filter.labels.insert(request.filter().label_selector().begin(),
                       request.filter().label_selector().end());
  for (const PodSandboxView& pod : core_.ListPods(filter)) {
    runtime::v1::PodSandbox& item = *response.add_items();
    item.set_id(pod.id);
    FillMetadata(pod, *item.mutable_metadata());
    item.set_state(ToCri(pod.state));
    item.set_created_at(pod.created_at_unix_nano);
    item.mutable_labels()->insert(pod.labels.begin(), pod.labels.end());
    item.mutable_annotations()->insert(pod.annotations.begin(), pod.annotations.end());
    item.set_runtime_handler(pod.runtime_handler);
  }
  return absl::OkStatus();
}

absl::Status RuntimeServiceImpl::DoUpdatePodSandboxResources(
    const runtime::v1::UpdatePodSandboxResourcesRequest& request,
    runtime::v1::UpdatePodSandboxResourcesResponse&) {
  if (request.pod_sandbox_id().empty()) {
    return absl::InvalidArgumentError("pod_sandbox_id is required");
  }
  return core_.UpdatePodResources(request.pod_sandbox_id(), ToLimits(request.resources()));
}

}  // namespace stockade
