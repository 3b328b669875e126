// The FreeBSD backend's plans, as portable logic that is unit-tested on any OS: the jail(2)
// parameters of a pod's VNET jail and of a container's child jail, the mounts a container jail
// needs (devfs with a ruleset, fdescfs, nullfs volumes, and linprocfs/linsysfs/tmpfs for Linux
// images), and the rctl(8) rules for CRI resources. The syscalls that apply them live in the
// FreeBSD-only files of this folder.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/jail_spec.h"

namespace stockade::freebsd {

// One jail(2) parameter as jail_setv(3) takes it: a name and its value as text. Boolean
// parameters are "true"/"false"; jailsys parameters ("vnet", "sysvshm", ...) take "new",
// "inherit" or "disable".
struct JailParam {
  std::string name;
  std::string value;
  bool operator==(const JailParam& o) const { return name == o.name && value == o.value; }
};

struct JailPlanOptions {
  int devfs_ruleset = 4;  // devfsrules_jail on a stock FreeBSD
  int max_containers_per_pod = 64;
};

// "stk-<first 12 of the pod id>" and "stk-<pod12>.<first 12 of the container id>": the dot
// makes the container a child of the pod jail.
std::string PodJailName(const std::string& pod_id);
std::string ContainerJailName(const std::string& pod_id, const std::string& container_id);

// InvalidArgument for ids that are not hex, over-long host names, sysctls a jail cannot set.
absl::StatusOr<std::vector<JailParam>> PlanPodJail(const PodJailSpec& spec,
                                                   const JailPlanOptions& options);
absl::StatusOr<std::vector<JailParam>> PlanContainerJail(const ContainerJailSpec& spec,
                                                         const JailPlanOptions& options);

struct MountStep {
  std::string fstype;  // devfs, fdescfs, nullfs, linprocfs, linsysfs, tmpfs
  std::string source;
  std::string target;  // absolute, inside spec.rootfs
  std::vector<std::string> options;
  bool operator==(const MountStep& o) const {
    return fstype == o.fstype && source == o.source && target == o.target && options == o.options;
  }
};

// In mount order; unmount in reverse. Volume targets that would leave the rootfs are refused.
absl::StatusOr<std::vector<MountStep>> PlanContainerMounts(const ContainerJailSpec& spec,
                                                           const JailPlanOptions& options);

// rctl(8) rules ("jail:<name>:memoryuse:deny=<bytes>", ...). CPU quota becomes pcpu (percent
// of one CPU, rounded up); cpu_shares and cpuset have no rctl form and are left to the caller
// (cpuset(1)).
std::vector<std::string> PlanRctlRules(const std::string& jail_name, const ResourceLimits& limits);

}  // namespace stockade::freebsd
