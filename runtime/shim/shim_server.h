// The pod shim's server loop (see shim_server.cc), over an OS's ShimPlatform.
#pragma once

#include <memory>
#include <string>

#include "common/unique_fd.h"
#include "runtime/shim/shim_platform.h"

namespace stockade {

// Serves `listen_fd` (bound at `<dir>/shim.sock`) until a shutdown request; `wake_fd` becomes
// readable whenever a child may have ended. Returns the process's exit code.
int RunShimServer(const std::string& dir, std::unique_ptr<ShimPlatform> platform,
                  UniqueFd listen_fd, UniqueFd wake_fd);

}  // namespace stockade
