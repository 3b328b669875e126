// RuntimeConfig (the cgroup driver kubelet must use) and UpdateRuntimeConfig (the node's pod
// CIDR, kept for the network plugin's IPAM).
#include "cri/runtime_service.h"
#include "runtime/cgroup_driver.h"
#include "runtime/runtime_settings.h"

namespace stockade {

absl::Status RuntimeServiceImpl::DoRuntimeConfig(const runtime::v1::RuntimeConfigRequest& request,
                                                 runtime::v1::RuntimeConfigResponse& response) {
  const CgroupDriver driver = ResolveCgroupDriver(config_.cgroup_driver);
  response.mutable_linux()->set_cgroup_driver(driver == CgroupDriver::kSystemd
                                                  ? runtime::v1::CgroupDriver::SYSTEMD
                                                  : runtime::v1::CgroupDriver::CGROUPFS);
  return absl::OkStatus();
}

absl::Status RuntimeServiceImpl::DoUpdateRuntimeConfig(
    const runtime::v1::UpdateRuntimeConfigRequest& request,
    runtime::v1::UpdateRuntimeConfigResponse& response) {
  // As containerd: only network_config.pod_cidr is read; an empty one changes nothing.
  const std::string& pod_cidr = request.runtime_config().network_config().pod_cidr();
  if (pod_cidr.empty()) return absl::OkStatus();
  return settings_.SetPodCidr(pod_cidr);
}

}  // namespace stockade
