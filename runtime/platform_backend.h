// The backends of the running OS, made in one place so that the daemon stays OS-neutral:
// runtime/linux/platform_linux.cc here, runtime/freebsd/ with the FreeBSD issue.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/jail_backend.h"
#include "runtime/snapshot/snapshotter.h"

namespace stockade {

struct PlatformOptions {
  std::string state_dir;  // snapshots go under <state_dir>/snapshots
  std::string run_dir;    // network namespaces are bound under <run_dir>/netns
  std::string shim_path;  // "": stockade-shim next to the running binary
};

struct PlatformBackend {
  std::unique_ptr<JailBackend> jails;
  std::unique_ptr<ResourceLimiter> limiter;
  std::unique_ptr<Snapshotter> snapshotter;
  std::string netns_dir;
  int oom_score_adj = 0;       // the daemon's own: the floor for its containers
  std::shared_ptr<void> keep;  // what the backends above refer to
};

absl::StatusOr<PlatformBackend> OpenPlatformBackend(const PlatformOptions& options);

}  // namespace stockade
