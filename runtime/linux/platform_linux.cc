#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "runtime/linux/cgroups.h"
#include "runtime/linux/linux_jail_backend.h"
#include "runtime/platform_backend.h"

namespace stockade {

WhiteoutMode PlatformLayerWhiteouts() { return WhiteoutMode::kOverlay; }

absl::StatusOr<PlatformBackend> OpenPlatformBackend(const PlatformOptions& options) {
  if (!options.zfs_dataset.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("storage.zfs_dataset (", options.zfs_dataset,
                     ") is for FreeBSD; on Linux containers' root filesystems are overlayfs: "
                     "remove the key"));
  }
  std::string shim = options.shim_path;
  if (shim.empty()) {
    std::error_code ec;
    const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    shim = (self.parent_path() / "stockade-shim").string();
  }
  if (::access(shim.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("the pod shim ", shim,
                     " is missing or not executable: install stockade-shim next to "
                     "stockaded"));
  }
  std::shared_ptr<LinuxCgroups> cgroups = LinuxCgroups::Detect();
  PlatformBackend out;
  out.netns_dir = absl::StrCat(options.run_dir, "/netns");
  out.helper_dir = std::filesystem::path(shim).parent_path().string();
  out.jails = NewLinuxJailBackend({shim, out.netns_dir}, *cgroups);
  out.limiter = NewCgroupResourceLimiter(*cgroups);
  absl::StatusOr<std::unique_ptr<Snapshotter>> snapshotter =
      NewOverlaySnapshotter(absl::StrCat(options.state_dir, "/snapshots"));
  if (!snapshotter.ok()) return snapshotter.status();
  out.snapshotter = *std::move(snapshotter);
  std::ifstream("/proc/self/oom_score_adj") >> out.oom_score_adj;
  out.keep = cgroups;
  return out;
}

}  // namespace stockade
