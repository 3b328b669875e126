// Version: who we are. kubelet refuses a runtime whose `version` is not "0.1.0" (the CRI's
// own version) or that leaves any of the four fields empty.
#include "cri/runtime_service.h"

namespace stockade {

absl::Status RuntimeServiceImpl::DoVersion(const runtime::v1::VersionRequest& request,
                                           runtime::v1::VersionResponse& response) {
  response.set_version("0.1.0");
  response.set_runtime_name("stockade");
  response.set_runtime_version(daemon_.version);
  response.set_runtime_api_version("v1");
  return absl::OkStatus();
}

}  // namespace stockade
