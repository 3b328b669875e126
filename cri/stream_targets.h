// The streaming server's StreamTargets over the runtime core.
#pragma once

#include <memory>

#include "runtime/runtime_core.h"
#include "streaming/stream_targets.h"

namespace stockade {

std::unique_ptr<StreamTargets> NewCoreStreamTargets(RuntimeCore& core);

}  // namespace stockade
