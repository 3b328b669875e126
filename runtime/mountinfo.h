// /proc/self/mountinfo, read for what CRI mount propagation needs: which mount a path lives on
// and whether that mount is shared (sends and receives mount events) or a slave (receives
// them). As containerd's ensureShared/ensureSharedOrSlave. Plain text logic, testable anywhere.
#pragma once

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace stockade {

struct MountPropagationInfo {
  std::string mount_point;
  bool shared = false;  // "shared:N" among the optional fields
  bool slave = false;   // "master:N"
};

// The mount whose mount point is the longest prefix of `path` (an absolute, resolved path),
// the last such line winning (a later mount covers an earlier one); nullopt when none matches.
std::optional<MountPropagationInfo> MountOf(absl::string_view mountinfo, absl::string_view path);

}  // namespace stockade
