#include "runtime/freebsd/jail_plan.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/rootfs_path.h"

namespace stockade::freebsd {
namespace {

constexpr size_t kShortId = 12;
constexpr size_t kMaxHostName = 255;  // MAXHOSTNAMELEN - 1

absl::Status CheckId(const std::string& id, absl::string_view what) {
  const bool hex = id.size() >= kShortId && std::all_of(id.begin(), id.end(), [](char c) {
                     return absl::ascii_isdigit(c) || (c >= 'a' && c <= 'f');
                   });
  if (!hex) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " id \"", id, "\" must be at least 12 lowercase hex characters"));
  }
  return absl::OkStatus();
}

// Jail-visible sysctls a VNET jail may own; everything else is the host's and is refused.
bool IsJailSettableSysctl(absl::string_view name) {
  return absl::StartsWith(name, "net.inet.") || absl::StartsWith(name, "net.inet6.") ||
         absl::StartsWith(name, "kern.ipc.");
}

// An absolute path inside the container, cleaned; refuses anything that climbs out.
absl::StatusOr<std::string> ContainerPath(absl::string_view path) {
  if (path.empty() || path.front() != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("container path \"", path, "\" must be absolute"));
  }
  std::vector<std::string> parts;
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    if (part == ".") continue;
    if (part == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat("container path \"", path, "\" must not contain \"..\""));
    }
    parts.emplace_back(part);
  }
  return absl::StrCat("/", absl::StrJoin(parts, "/"));
}

std::vector<JailParam> Common(const JailPlanOptions& options) {
  return {
      {"persist", "true"},
      {"devfs_ruleset", absl::StrCat(options.devfs_ruleset)},
      // Only the jail's own mounts are visible to statfs(2) inside it.
      {"enforce_statfs", "1"},
      {"allow.raw_sockets", "true"},  // ping, as CRI's NET_RAW default allows
  };
}

}  // namespace

std::string PodJailName(const std::string& pod_id) {
  return absl::StrCat("stk-", pod_id.substr(0, kShortId));
}

std::string ContainerJailName(const std::string& pod_id, const std::string& container_id) {
  return absl::StrCat(PodJailName(pod_id), ".", container_id.substr(0, kShortId));
}

absl::StatusOr<std::vector<JailParam>> PlanPodJail(const PodJailSpec& spec,
                                                   const JailPlanOptions& options) {
  if (absl::Status s = CheckId(spec.pod_id, "pod"); !s.ok()) return s;
  if (spec.hostname.size() > kMaxHostName) {
    return absl::InvalidArgumentError(absl::StrCat("hostname is ", spec.hostname.size(),
                                                   " bytes; a jail's host.hostname holds at most ",
                                                   kMaxHostName));
  }
  std::vector<JailParam> params = {{"name", PodJailName(spec.pod_id)}, {"path", "/"}};
  for (JailParam& p : Common(options)) params.push_back(std::move(p));
  // The pod owns the network stack (an epair end is moved in) unless it is on the host's.
  params.push_back({"vnet", spec.host_network ? "inherit" : "new"});
  if (!spec.hostname.empty()) params.push_back({"host.hostname", spec.hostname});
  params.push_back({"children.max", absl::StrCat(options.max_containers_per_pod)});
  // Containers of a pod share System V IPC, like a Linux pod's IPC namespace.
  const std::string ipc = spec.share_ipc_with_host ? "inherit" : "new";
  for (const char* p : {"sysvmsg", "sysvsem", "sysvshm"}) params.push_back({p, ipc});
  params.push_back({"allow.mount", "true"});
  params.push_back({"allow.mount.devfs", "true"});
  for (const auto& [name, value] : spec.sysctls) {
    if (spec.host_network || !IsJailSettableSysctl(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "sysctl ", name, " cannot be set in a FreeBSD jail",
          spec.host_network ? " on the host network" : " (only net.inet*, kern.ipc.* are)"));
    }
  }
  return params;
}

absl::StatusOr<std::vector<JailParam>> PlanContainerJail(const ContainerJailSpec& spec,
                                                         const JailPlanOptions& options) {
  if (absl::Status s = CheckId(spec.pod_id, "pod"); !s.ok()) return s;
  if (absl::Status s = CheckId(spec.container_id, "container"); !s.ok()) return s;
  if (spec.rootfs.empty() || spec.rootfs.front() != '/') {
    return absl::InvalidArgumentError("container rootfs must be an absolute path");
  }
  std::vector<JailParam> params = {{"name", ContainerJailName(spec.pod_id, spec.container_id)},
                                   {"path", spec.rootfs}};
  for (JailParam& p : Common(options)) params.push_back(std::move(p));
  // Inside the pod: its network stack, its host name and its System V IPC.
  params.push_back({"vnet", "inherit"});
  params.push_back({"host", "inherit"});
  for (const char* p : {"sysvmsg", "sysvsem", "sysvshm"}) params.push_back({p, "inherit"});
  params.push_back({"children.max", "0"});
  if (spec.linux_image) params.push_back({"linux", "new"});
  if (spec.privileged) {
    params.push_back({"allow.mount", "true"});
    params.push_back({"allow.chflags", "true"});
    params.push_back({"allow.mlock", "true"});
  }
  return params;
}

absl::StatusOr<std::vector<MountStep>> PlanContainerMounts(const ContainerJailSpec& spec,
                                                           const JailPlanOptions& options) {
  if (spec.rootfs.empty() || spec.rootfs.front() != '/') {
    return absl::InvalidArgumentError("container rootfs must be an absolute path");
  }
  const std::string root(absl::StripSuffix(spec.rootfs, "/"));
  std::vector<MountStep> steps;
  auto in_root = [&](const char* path) -> absl::StatusOr<std::string> {
    return SecureJoin(root, path);
  };
  struct System {
    const char* type;
    const char* path;
    std::vector<std::string> options;
  };
  std::vector<System> systems = {
      {"devfs", "/dev", {absl::StrCat("ruleset=", options.devfs_ruleset)}},
      {"fdescfs", "/dev/fd", {}}};
  if (spec.linux_image) {
    systems.push_back({"linprocfs", "/proc", {}});
    systems.push_back({"linsysfs", "/sys", {}});
    systems.push_back({"tmpfs", "/dev/shm", {"mode=1777"}});
  }
  for (System& s : systems) {
    absl::StatusOr<std::string> target = in_root(s.path);
    if (!target.ok()) return target.status();
    steps.push_back({s.type, s.type, *std::move(target), std::move(s.options)});
  }
  for (const VolumeMount& m : spec.mounts) {
    if (m.host_path.empty() || m.host_path.front() != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat("volume host path \"", m.host_path, "\" must be absolute"));
    }
    absl::StatusOr<std::string> target = ContainerPath(m.container_path);
    if (!target.ok()) return target.status();
    if (*target == "/") {
      return absl::InvalidArgumentError("a volume cannot be mounted over the container's /");
    }
    // The target as the rootfs's own links lead, resolved inside it (never a host path a
    // hostile image points at), as the Linux backend resolves its mount targets.
    absl::StatusOr<std::string> resolved = SecureJoin(root, *target);
    if (!resolved.ok()) return resolved.status();
    // nullfs has no propagation modes: FreeBSD mounts never propagate between jails.
    std::vector<std::string> opts;
    if (m.read_only) opts.push_back("ro");
    steps.push_back({"nullfs", m.host_path, *std::move(resolved), std::move(opts)});
  }
  return steps;
}

std::vector<std::string> PlanRctlRules(const std::string& jail_name, const ResourceLimits& limits) {
  std::vector<std::string> rules;
  const std::string subject = absl::StrCat("jail:", jail_name, ":");
  if (limits.memory_limit_bytes && *limits.memory_limit_bytes > 0) {
    rules.push_back(absl::StrCat(subject, "memoryuse:deny=", *limits.memory_limit_bytes));
  }
  if (limits.cpu_quota_us && limits.cpu_period_us && *limits.cpu_quota_us > 0 &&
      *limits.cpu_period_us > 0) {
    const int64_t percent =
        (*limits.cpu_quota_us * 100 + *limits.cpu_period_us - 1) / *limits.cpu_period_us;
    rules.push_back(absl::StrCat(subject, "pcpu:deny=", percent));
  }
  if (limits.pids_limit && *limits.pids_limit > 0) {
    rules.push_back(absl::StrCat(subject, "maxproc:deny=", *limits.pids_limit));
  }
  return rules;
}

}  // namespace stockade::freebsd
