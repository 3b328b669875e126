// A container's devfs ruleset in the kernel: loaded from its DevfsPlan under a free number
// (tried from ContainerRulesetNumber on), and removed rule by rule. FreeBSD only
// (devfs_rules_freebsd.cc).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/freebsd/devfs_plan.h"

namespace stockade::freebsd {

// The ruleset number used; nothing is left loaded on error.
absl::StatusOr<uint16_t> LoadDevfsRuleset(const std::string& container_id, const DevfsPlan& plan);
// Deletes every rule of the ruleset; an empty one is no error.
absl::Status RemoveDevfsRuleset(uint16_t ruleset);

}  // namespace stockade::freebsd
