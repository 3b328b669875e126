// Which cgroup driver the node uses, as kubelet must be told (RuntimeConfig): systemd when the
// host runs systemd and the setting is "auto", else what the operator configured.
#pragma once

#include <string>

#include "absl/status/statusor.h"

#include "runtime/config/config.h"

namespace stockade {

enum class CgroupDriver { kSystemd, kCgroupfs };

// `systemd_marker` is the directory whose existence means systemd is PID 1 (sd_booted(3)).
CgroupDriver ResolveCgroupDriver(CgroupDriverSetting setting,
                                 const std::string& systemd_marker = "/run/systemd/system");

// The cgroup directory, relative to each hierarchy's root, of a pod's cgroup_parent as kubelet
// sends it: a path ("/kubepods/burstable/pod<uid>") with the cgroupfs driver, a slice name
// ("kubepods-burstable-pod<uid>.slice") with the systemd driver, expanded as systemd nests
// slices ("kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice"), so
// the pod lands inside kubelet's QoS tree. InvalidArgument for ".." or a malformed slice.
absl::StatusOr<std::string> CgroupParentDirectory(const std::string& cgroup_parent);

}  // namespace stockade
