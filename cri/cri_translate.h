// Conversions between CRI messages and the runtime core's plain types that more than one RPC
// group needs.
#pragma once

#include "runtime/jail_spec.h"
#include "runtime/v1/api.pb.h"

namespace stockade {

// Only the non-zero fields apply, as containerd does.
ResourceLimits ToLimits(const runtime::v1::LinuxContainerResources& resources);
void FromLimits(const ResourceLimits& limits, runtime::v1::LinuxContainerResources& out);

}  // namespace stockade
