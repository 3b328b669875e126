// Seccomp profiles in the Docker/OCI JSON format (what kubelet's Localhost profiles and
// containerd's RuntimeDefault are written in): parsed and checked here as plain data, so that
// a bad profile is refused at CreateContainer with the problem named; turned into a BPF
// program by the Linux backend (runtime/linux/seccomp_linux.cc).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace stockade {

enum class SeccompAction { kKillThread, kKillProcess, kTrap, kErrno, kTrace, kAllow, kLog };

enum class SeccompCompare { kNe, kLt, kLe, kEq, kGe, kGt, kMaskedEq };

struct SeccompArg {
  unsigned index = 0;  // 0-5
  uint64_t value = 0, value_two = 0;
  SeccompCompare op = SeccompCompare::kEq;
};

struct SeccompRule {
  std::vector<std::string> names;
  SeccompAction action = SeccompAction::kAllow;
  int errno_ret = 1;  // EPERM, for kErrno
  std::vector<SeccompArg> args;
  // The rule applies only when the container holds every one of include_caps and none of
  // exclude_caps ("CAP_SYS_ADMIN"...), on the listed architectures ("SCMP_ARCH_X86_64"...).
  std::vector<std::string> include_caps, exclude_caps, include_arches, exclude_arches;
};

struct SeccompProfile {
  SeccompAction default_action = SeccompAction::kAllow;
  int default_errno = 1;
  std::vector<std::string> architectures;  // "SCMP_ARCH_X86_64"...; empty: the native one
  std::vector<SeccompRule> syscalls;
};

// InvalidArgument naming the field for anything malformed or unsupported (SCMP_ACT_NOTIFY,
// unknown actions, operators, flags).
absl::StatusOr<SeccompProfile> ParseSeccompProfile(absl::string_view json);

// containerd's RuntimeDefault profile: an allowlist (everything else fails with EPERM), with
// the calls that need a capability allowed only with it, and clone/clone3 without namespace
// flags unless the container holds CAP_SYS_ADMIN.
const SeccompProfile& RuntimeDefaultSeccompProfile();

}  // namespace stockade
