// Status: the RuntimeReady and NetworkReady conditions kubelet polls every few seconds, and
// with `verbose` the effective configuration, as containerd reports them.
#include "cni/network_config_discovery.h"
#include "cri/runtime_service.h"
#include "runtime/config/config.h"
#include "runtime/runtime_settings.h"

namespace stockade {
namespace {

constexpr char kRuntimeReady[] = "RuntimeReady";
constexpr char kNetworkReady[] = "NetworkReady";
constexpr char kNetworkPluginNotReady[] = "NetworkPluginNotReady";

}  // namespace

absl::Status RuntimeServiceImpl::DoStatus(const runtime::v1::StatusRequest& request,
                                          runtime::v1::StatusResponse& response) {
  runtime::v1::RuntimeCondition* runtime_ready = response.mutable_status()->add_conditions();
  runtime_ready->set_type(kRuntimeReady);
  runtime_ready->set_status(true);

  // Re-read on every call so a config dropped in by a CNI installer is seen without a restart.
  absl::StatusOr<DiscoveredNetwork> network = DiscoverNetworkConfig(config_.cni.conf_dir);
  runtime::v1::RuntimeCondition* network_ready = response.mutable_status()->add_conditions();
  network_ready->set_type(kNetworkReady);
  network_ready->set_status(network.ok());
  if (!network.ok()) {
    network_ready->set_reason(kNetworkPluginNotReady);
    network_ready->set_message(std::string("Network plugin returns error: ") +
                               std::string(network.status().message()));
  }

  for (const NodeCondition& c : daemon_.conditions) {
    runtime::v1::RuntimeCondition* condition = response.mutable_status()->add_conditions();
    condition->set_type(c.type);
    condition->set_status(c.status);
    condition->set_reason(c.reason);
    condition->set_message(c.message);
  }

  // The default handler (""), with the optional features stockade does not offer yet.
  runtime::v1::RuntimeHandler* handler = response.add_runtime_handlers();
  handler->set_name("");
  handler->mutable_features()->set_recursive_read_only_mounts(false);
  handler->mutable_features()->set_user_namespaces(false);
  response.mutable_features()->set_supplemental_groups_policy(false);

  if (request.verbose()) {
    auto& info = *response.mutable_info();
    info["config"] = daemon_.config_json;
    info["version"] = daemon_.version;
    info["metricsAddress"] = daemon_.metrics_address;
    info["podCIDR"] = settings_.pod_cidr();
    info["cniConfig"] = network.ok() ? network->path : "";
  }
  return absl::OkStatus();
}

}  // namespace stockade
