// The backends of the running OS, made in one place so that the daemon stays OS-neutral:
// runtime/linux/platform_linux.cc and runtime/freebsd/platform_freebsd.cc.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "imagestore/whiteouts.h"
#include "runtime/jail_backend.h"
#include "runtime/node_condition.h"
#include "runtime/snapshot/snapshotter.h"

namespace stockade {

struct PlatformOptions {
  std::string state_dir;    // snapshots go under <state_dir>/snapshots
  std::string run_dir;      // network namespaces are bound under <run_dir>/netns
  std::string shim_path;    // "": stockade-shim next to the running binary
  std::string zfs_dataset;  // FreeBSD: the ZFS snapshotter's dataset; "": copies
};

struct PlatformBackend {
  std::unique_ptr<JailBackend> jails;
  std::unique_ptr<ResourceLimiter> limiter;
  std::unique_ptr<Snapshotter> snapshotter;
  std::string netns_dir;
  std::string helper_dir;  // where stockade-shim is, and the other helpers installed with it
  std::function<std::string(const std::string& pod_id)> pod_network_handle;  // unset: netns_dir's
  std::vector<NodeCondition> conditions;  // what the OS lacks that some pods need
  int oom_score_adj = 0;                  // the daemon's own: the floor for its containers
  std::shared_ptr<void> keep;             // what the backends above refer to
};

absl::StatusOr<PlatformBackend> OpenPlatformBackend(const PlatformOptions& options);

// The form the platform's snapshotter reads layer directories in: what the image store must
// unpack them as (overlayfs's whiteouts on Linux, the OCI markers on FreeBSD).
WhiteoutMode PlatformLayerWhiteouts();

}  // namespace stockade
