#include "runtime/linux/linux_jail_backend.h"

#include <sys/ioctl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "runtime/linux/netns_calls.h"
#include "runtime/linux/seccomp.h"
#include "runtime/mountinfo.h"
#include "runtime/seccomp_profile.h"
#include "runtime/shim_client.h"
#include "runtime/shim_jail_backend.h"

namespace stockade {
namespace {

// The seccomp program of a process: none, RuntimeDefault, or its Localhost profile.
absl::StatusOr<std::vector<uint64_t>> FilterFor(const ProcessIdentity& p) {
  switch (p.seccomp) {
    case SeccompMode::kUnconfined:
      return std::vector<uint64_t>{};
    case SeccompMode::kRuntimeDefault:
      return RuntimeDefaultSeccompFilter(p.capabilities);
    case SeccompMode::kLocalhost:
      break;
  }
  absl::StatusOr<SeccompProfile> profile = ParseSeccompProfile(p.seccomp_profile);
  if (!profile.ok()) return WithContext(profile.status(), "the container's seccomp profile");
  return SeccompFilter(*profile, p.capabilities);
}

// A process as the shim starts it: the identity, with its seccomp program built here (the shim
// does not link libseccomp). The same for a container's init and an exec session.
absl::StatusOr<ShimProcessSpec> ShimProcessOf(const ProcessIdentity& p) {
  absl::StatusOr<std::vector<uint64_t>> filter = FilterFor(p);
  if (!filter.ok()) return filter.status();
  ShimProcessSpec s = CommonProcessSpec(p);
  s.capabilities = p.capabilities;
  s.no_new_privs = p.no_new_privs;
  s.seccomp_filter = *std::move(filter);
  return s;
}

class LinuxJailBackend final : public ShimJailBackend {
 public:
  LinuxJailBackend(const LinuxBackendOptions& options, LinuxCgroups& cgroups)
      : options_(options), cgroups_(cgroups) {}

  absl::Status CreatePod(const PodLaunch& launch) override {
    ShimLaunch shim;
    shim.shim_path = options_.shim_path;
    shim.pod_id = launch.jail.pod_id;
    shim.dir = launch.dir;
    shim.hostname = launch.jail.hostname;
    shim.netns_dir = options_.netns_dir;
    shim.host_network = launch.jail.host_network;
    shim.join_netns = launch.jail.join_network_namespace;
    shim.host_ipc = launch.jail.share_ipc_with_host;
    shim.pod_pid = launch.pid_mode == NamespaceMode::kPod;
    shim.sysctls = launch.jail.sysctls;
    absl::StatusOr<std::unique_ptr<ShimClient>> client =
        ShimClient::Launch(shim, options_.shim_start_timeout);
    if (!client.ok()) {
      RemoveNetnsMount(launch.jail.pod_id).IgnoreError();
      return client.status();
    }
    return absl::OkStatus();
  }

  absl::StatusOr<ShimContainerSpec> ContainerSpecOf(const std::string& dir,
                                                    const ContainerLaunch& launch) override {
    absl::StatusOr<ShimProcessSpec> process = ShimProcessOf(launch.process);
    if (!process.ok()) return process.status();
    ShimContainerSpec spec = CommonContainerSpec(launch, *std::move(process));
    spec.mounts = launch.jail.mounts;
    spec.masked_paths = launch.masked_paths;
    spec.readonly_paths = launch.readonly_paths;
    switch (launch.pid_mode) {
      case NamespaceMode::kPod:
        spec.pid_ns = "pod";
        break;
      case NamespaceMode::kNode:
        spec.pid_ns = "host";
        break;
      case NamespaceMode::kTarget:
        // Found by the shim among its own children: a recorded PID could have been reused.
        spec.pid_ns = absl::StrCat("container:", launch.target_id);
        break;
      case NamespaceMode::kContainer:
        break;
    }
    spec.cgroup_procs_files = cgroups_.ProcsFiles(launch.resource_scope);
    spec.oom_score_adj = launch.oom_score_adj;
    return spec;
  }

  absl::StatusOr<ShimProcessSpec> ProcessOf(const ProcessIdentity& identity) override {
    return ShimProcessOf(identity);
  }

  // With the shim gone, its holder died with it (parent-death signal); the netns bind mount
  // is all that can remain.
  absl::Status AfterPodShutdown(const std::string& pod_id) override {
    return RemoveNetnsMount(pod_id);
  }

  absl::Status CheckVolumePropagation(const VolumeMount& m) override {
    if (m.propagation == MountPropagation::kPrivate) return absl::OkStatus();
    std::error_code ec;
    const std::string path = std::filesystem::canonical(m.host_path, ec).string();
    if (ec) return ErrnoError(ec.value(), absl::StrCat("resolve the volume source ", m.host_path));
    std::ifstream in("/proc/self/mountinfo");
    std::stringstream text;
    text << in.rdbuf();
    std::optional<MountPropagationInfo> mount = MountOf(text.str(), path);
    if (!mount) {
      return absl::FailedPreconditionError(absl::StrCat("no mount holds ", m.host_path));
    }
    const bool bidirectional = m.propagation == MountPropagation::kBidirectional;
    if (mount->shared || (!bidirectional && mount->slave)) return absl::OkStatus();
    return absl::FailedPreconditionError(
        absl::StrCat("volume ", m.host_path, " is on the mount ", mount->mount_point,
                     ", which is not a shared mount", bidirectional ? "" : " or a slave", ": ",
                     bidirectional ? "Bidirectional" : "HostToContainer",
                     " propagation needs one (mount --make-rshared ", mount->mount_point, ")"));
  }

  absl::StatusOr<UniqueFd> DialPod(const std::string& pod_id, bool host_network,
                                   int port) override {
    return DialLoopbackInNetns(host_network ? "" : NetnsPath(pod_id), port);
  }

  absl::StatusOr<std::vector<InterfaceCounters>> PodInterfaces(const std::string& pod_id,
                                                               bool host_network) override {
    if (host_network) return std::vector<InterfaceCounters>{};
    return InterfaceCountersInNetns(NetnsPath(pod_id));
  }

 private:
  std::string NetnsPath(const std::string& pod_id) const {
    return absl::StrCat(options_.netns_dir, "/", pod_id);
  }

  absl::Status RemoveNetnsMount(const std::string& pod_id) {
    const std::string path = absl::StrCat(options_.netns_dir, "/", pod_id);
    if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
      return ErrnoError(errno, absl::StrCat("unmount ", path));
    }
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return ErrnoError(errno, absl::StrCat("remove ", path));
    }
    return absl::OkStatus();
  }

  LinuxBackendOptions options_;
  LinuxCgroups& cgroups_;
};

class CgroupResourceLimiter final : public ResourceLimiter {
 public:
  explicit CgroupResourceLimiter(LinuxCgroups& cgroups) : cgroups_(cgroups) {}
  absl::Status Create(const std::string& scope, const ResourceLimits& limits) override {
    if (absl::Status s = cgroups_.Create(scope); !s.ok()) return s;
    return cgroups_.Apply(scope, limits);
  }
  absl::Status Update(const std::string& scope, const ResourceLimits& limits) override {
    return cgroups_.Apply(scope, limits);
  }
  absl::StatusOr<int64_t> OomKills(const std::string& scope) override {
    return cgroups_.OomKills(scope);
  }
  absl::Status KillAll(const std::string& scope) override { return cgroups_.KillAll(scope); }
  absl::StatusOr<ScopeUsage> Usage(const std::string& scope) override {
    return cgroups_.Usage(scope);
  }
  absl::Status Remove(const std::string& scope) override { return cgroups_.Remove(scope); }

 private:
  LinuxCgroups& cgroups_;
};

}  // namespace

std::unique_ptr<JailBackend> NewLinuxJailBackend(const LinuxBackendOptions& options,
                                                 LinuxCgroups& cgroups) {
  return std::make_unique<LinuxJailBackend>(options, cgroups);
}

std::unique_ptr<ResourceLimiter> NewCgroupResourceLimiter(LinuxCgroups& cgroups) {
  return std::make_unique<CgroupResourceLimiter>(cgroups);
}

}  // namespace stockade
