// The pod shim's ShimPlatform on Linux, over the pod's namespaces. Linux only.
#pragma once

#include <memory>

#include "runtime/linux/pod_namespaces.h"
#include "runtime/shim/shim_platform.h"

namespace stockade {

std::unique_ptr<ShimPlatform> NewLinuxShimPlatform(std::unique_ptr<PodNamespaces> pod);

}  // namespace stockade
