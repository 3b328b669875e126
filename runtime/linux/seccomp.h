// Seccomp profiles as classic-BPF programs, built with libseccomp in the
// daemon and handed to the shim as plain numbers (the shim does not link libseccomp).
// Linux only.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"

namespace stockade {

struct SeccompProfile;

// The profile as a program for this container: rules that need capabilities it lacks, or
// another architecture, left out; unknown system calls skipped (as runc does).
absl::StatusOr<std::vector<uint64_t>> SeccompFilter(const SeccompProfile& profile,
                                                    const std::vector<int>& capabilities);

// containerd's RuntimeDefault (runtime/seccomp_profile.h) for this container.
absl::StatusOr<std::vector<uint64_t>> RuntimeDefaultSeccompFilter(
    const std::vector<int>& capabilities);

}  // namespace stockade
