// Which cgroup driver the node uses, as kubelet must be told (RuntimeConfig): systemd when the
// host runs systemd and the setting is "auto", else what the operator configured.
#pragma once

#include <string>

#include "runtime/config/config.h"

namespace stockade {

enum class CgroupDriver { kSystemd, kCgroupfs };

// `systemd_marker` is the directory whose existence means systemd is PID 1 (sd_booted(3)).
CgroupDriver ResolveCgroupDriver(CgroupDriverSetting setting,
                                 const std::string& systemd_marker = "/run/systemd/system");

}  // namespace stockade
