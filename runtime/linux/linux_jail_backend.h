// The Linux jail backend: a pod is its stockade-shim holding net/uts/ipc (and pid) namespaces;
// a container is a process tree the shim starts in its own mount (and pid) namespace; limits
// are cgroups (v1 or v2). Linux only.
#pragma once

#include <memory>
#include <string>

#include "runtime/jail_backend.h"
#include "runtime/linux/cgroups.h"

namespace stockade {

struct LinuxBackendOptions {
  std::string shim_path;  // the stockade-shim binary
  std::string netns_dir = "/run/stockade/netns";
  absl::Duration shim_start_timeout = absl::Seconds(10);
};

std::unique_ptr<JailBackend> NewLinuxJailBackend(const LinuxBackendOptions& options,
                                                 LinuxCgroups& cgroups);
std::unique_ptr<ResourceLimiter> NewCgroupResourceLimiter(LinuxCgroups& cgroups);

}  // namespace stockade
