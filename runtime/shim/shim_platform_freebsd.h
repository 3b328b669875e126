// The pod shim's ShimPlatform on FreeBSD: the pod's jail (made by the shim's main), container
// child jails, jail_attach'ed processes. FreeBSD only.
#pragma once

#include <memory>
#include <string>

#include "runtime/freebsd/jail_process.h"
#include "runtime/shim/shim_platform.h"

namespace stockade {

std::unique_ptr<ShimPlatform> NewFreeBsdShimPlatform(std::string pod_id, std::string pod_jail,
                                                     freebsd::ProcessReaper reaper);

}  // namespace stockade
