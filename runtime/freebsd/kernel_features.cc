#include "runtime/freebsd/kernel_features.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace stockade::freebsd {

absl::Status CheckKernelFeatures(const KernelFeatures& have, const KernelNeeds& need) {
  std::vector<std::string> missing;
  if (need.pod_networks) {
    if (!have.vimage) {
      missing.push_back(
          "VNET jails: the kernel lacks VIMAGE (GENERIC has it since 13.0; a "
          "custom kernel needs `options VIMAGE`)");
    }
    if (!have.if_bridge) missing.push_back("if_bridge: kldload if_bridge (if_bridge_load=\"YES\")");
    if (!have.if_epair) missing.push_back("if_epair: kldload if_epair (if_epair_load=\"YES\")");
    if (!have.pf) {
      missing.push_back("pf: kldload pf (pf_load=\"YES\"), with deploy/freebsd/pf.conf's anchors");
    } else if (!have.pf_enabled) {
      missing.push_back("pf is loaded but disabled: pfctl -e (sysrc pf_enable=YES)");
    }
  }
  if (need.limits && !have.racct) {
    missing.push_back("resource accounting: kern.racct.enable=1 in /boot/loader.conf, then reboot");
  }
  if (!have.fdescfs) missing.push_back("fdescfs: kldload fdescfs");
  if (!have.nullfs) missing.push_back("nullfs (volumes): kldload nullfs");
  if (need.linux_images) {
    if (!have.linux64) missing.push_back("Linux images: kldload linux64 (sysrc linux_enable=YES)");
    if (!have.linprocfs) missing.push_back("Linux images: kldload linprocfs");
    if (!have.linsysfs) missing.push_back("Linux images: kldload linsysfs");
  }
  if (missing.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "this FreeBSD kernel lacks what stockade needs: ", absl::StrJoin(missing, "; ")));
}

absl::Status CheckDaemonKernel(const KernelFeatures& have) {
  return CheckKernelFeatures(have, {.pod_networks = false, .limits = false, .linux_images = false});
}

std::vector<NodeCondition> KernelConditions(const KernelFeatures& have) {
  KernelFeatures rest = have;  // the daemon's own needs are checked at start, not reported here
  rest.fdescfs = rest.nullfs = true;
  auto condition = [&](const char* type, const char* reason, const KernelNeeds& need) {
    const absl::Status s = CheckKernelFeatures(rest, need);
    NodeCondition c;
    c.type = type;
    c.status = s.ok();
    if (!s.ok()) {
      c.reason = reason;
      c.message = std::string(s.message());
    }
    return c;
  };
  return {
      condition("stockade.io/PodNetworking", "KernelLacksPodNetworking",
                {.pod_networks = true, .limits = false, .linux_images = false}),
      condition("stockade.io/ResourceAccounting", "RacctDisabled",
                {.pod_networks = false, .limits = true, .linux_images = false}),
      condition("stockade.io/LinuxImages", "LinuxAbiNotLoaded",
                {.pod_networks = false, .limits = false, .linux_images = true}),
  };
}

absl::Status LinuxAbiMissingError(const std::string& image) {
  return absl::FailedPreconditionError(
      absl::StrCat("image ", image,
                   " is a Linux image and the Linux ABI is not loaded: kldload linux64 "
                   "linprocfs linsysfs (sysrc linux_enable=YES), or use a FreeBSD image"));
}

}  // namespace stockade::freebsd
