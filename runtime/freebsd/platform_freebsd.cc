// The FreeBSD platform: pods as VNET jails through the pod shims, rctl limits, and the ZFS
// snapshotter when storage.zfs_dataset is set (else copies); layers unpacked with the OCI
// marker whiteouts both read. The kernel is probed once: what the daemon cannot run without
// stops it here, what only some pods need becomes a Status condition. FreeBSD only.
#include <sys/param.h>

#include <sys/auxv.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "runtime/freebsd/freebsd_jail_backend.h"
#include "runtime/freebsd/jail_plan.h"
#include "runtime/freebsd/kernel_features.h"
#include "runtime/freebsd/rctl_limiter.h"
#include "runtime/freebsd/zfs_snapshotter.h"
#include "runtime/platform_backend.h"

namespace stockade {
namespace {

// stockade-shim next to the running binary (FreeBSD has no /proc/self/exe by default).
std::string ShimNextToSelf() {
  char self[PATH_MAX] = {};
  if (::elf_aux_info(AT_EXECPATH, self, sizeof(self)) != 0 || self[0] == '\0') {
    return "/usr/local/bin/stockade-shim";
  }
  return (std::filesystem::path(self).parent_path() / "stockade-shim").string();
}

}  // namespace

WhiteoutMode PlatformLayerWhiteouts() { return WhiteoutMode::kMarkers; }

absl::StatusOr<PlatformBackend> OpenPlatformBackend(const PlatformOptions& options) {
  const std::string shim = options.shim_path.empty() ? ShimNextToSelf() : options.shim_path;
  if (::access(shim.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("the pod shim ", shim,
                     " is missing or not executable: install stockade-shim next to stockaded"));
  }
  const freebsd::KernelFeatures features = freebsd::ProbeKernelFeatures();
  if (absl::Status s = freebsd::CheckDaemonKernel(features); !s.ok()) return s;

  PlatformBackend out;
  freebsd::FreeBsdBackendOptions jail_options;
  jail_options.shim_path = shim;
  jail_options.linux_abi = features.linux64 && features.linprocfs && features.linsysfs;
  out.jails = freebsd::NewFreeBsdJailBackend(jail_options);
  out.limiter = freebsd::NewRctlLimiter();
  const std::string snapshots = absl::StrCat(options.state_dir, "/snapshots");
  absl::StatusOr<std::unique_ptr<Snapshotter>> snapshotter =
      options.zfs_dataset.empty()
          ? NewCopySnapshotter(snapshots, PlatformLayerWhiteouts())
          : freebsd::NewZfsSnapshotter(
                {options.zfs_dataset, snapshots, absl::StrCat(options.state_dir, "/zfs-chains"),
                 PlatformLayerWhiteouts()},
                freebsd::SystemZfsRunner());
  if (!snapshotter.ok()) return snapshotter.status();
  out.snapshotter = *std::move(snapshotter);
  // CNI_NETNS names the pod's VNET jail; stockade-bridge moves the epair's end into it.
  out.netns_dir = absl::StrCat(options.run_dir, "/netns");
  out.helper_dir = std::filesystem::path(shim).parent_path().string();
  out.pod_network_handle = [](const std::string& pod_id) { return freebsd::PodJailName(pod_id); };
  out.conditions = freebsd::KernelConditions(features);
  return out;
}

}  // namespace stockade
