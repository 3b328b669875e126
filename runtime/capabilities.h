// The capability set of a container process: containerd's default set, then CRI's add and drop
// lists ("NET_ADMIN" or "CAP_NET_ADMIN", any case; "ALL" in add means every capability, in drop
// none), or every capability for a privileged container. The result goes into the bounding,
// permitted and effective sets; the ambient set stays empty.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace stockade {

// Capability numbers as in <linux/capability.h> (CAP_CHOWN = 0 ... CAP_CHECKPOINT_RESTORE = 40).
absl::StatusOr<std::set<int>> ResolveCapabilities(const std::vector<std::string>& add,
                                                  const std::vector<std::string>& drop,
                                                  bool privileged);

// "CAP_NET_ADMIN" for 12; "" for an unknown number.
std::string CapabilityName(int number);

}  // namespace stockade
