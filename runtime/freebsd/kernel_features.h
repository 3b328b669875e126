// What the FreeBSD kernel must offer the backend, probed once at start-up, and what the
// operator must change when it does not: VIMAGE for VNET pods, RACCT for limits and stats,
// if_bridge/if_epair/pf for pod networking, linux64 (and linprocfs/linsysfs) for Linux images.
// The judgement is plain logic, unit-tested everywhere; the probe is FreeBSD only
// (kernel_features_freebsd.cc: sysctlbyname(3), modfind(2)).
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "runtime/node_condition.h"

namespace stockade::freebsd {

struct KernelFeatures {
  bool vimage = false;  // kern.features.vimage
  bool racct = false;   // kern.racct.enable=1
  bool if_bridge = false, if_epair = false;
  bool pf = false;  // the module, and net.pf enabled (pfctl -e)
  bool pf_enabled = false;
  bool linux64 = false, linprocfs = false, linsysfs = false;
  bool fdescfs = false, nullfs = false;
};

struct KernelNeeds {
  bool pod_networks = true;   // pods off the host network (VNET, bridge, epair, pf)
  bool limits = true;         // rctl limits and stats
  bool linux_images = false;  // at least one Linux image is to run
};

// OK, or FailedPrecondition listing each missing piece with the line that fixes it
// (loader.conf tunable, kldload, sysrc), all at once.
absl::Status CheckKernelFeatures(const KernelFeatures& have, const KernelNeeds& need);

// What the daemon cannot run without at all: nullfs and fdescfs (every container mounts them).
// OK, or CheckKernelFeatures' error for just those.
absl::Status CheckDaemonKernel(const KernelFeatures& have);

// The Status conditions the FreeBSD platform reports beside RuntimeReady and NetworkReady,
// each with its fix when false: "stockade.io/PodNetworking" (VNET, if_bridge, if_epair, pf),
// "stockade.io/ResourceAccounting" (RACCT: rctl limits and every CPU/memory stat),
// "stockade.io/LinuxImages" (linux64, linprocfs, linsysfs). A node without them still runs
// what needs none of them (host-network pods, FreeBSD images, no limits).
std::vector<NodeCondition> KernelConditions(const KernelFeatures& have);

// For a Linux image when linux64 is absent: the error CreateContainer gives.
absl::Status LinuxAbiMissingError(const std::string& image);

// FreeBSD only.
KernelFeatures ProbeKernelFeatures();

}  // namespace stockade::freebsd
