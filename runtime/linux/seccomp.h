// The RuntimeDefault seccomp profile as a classic-BPF program, built with libseccomp in the
// daemon and handed to the shim as plain numbers (the shim does not link libseccomp).
// Linux only.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"

namespace stockade {

// Allows everything but the system calls the default profiles of Docker and containerd deny
// to every container (kernel modules, kexec, reboot, mount and namespace tools, ptrace,
// keyrings, clock setting, ...), each of them allowed back when the container holds the
// capability that governs it. A denied call fails with EPERM.
absl::StatusOr<std::vector<uint64_t>> RuntimeDefaultSeccompFilter(
    const std::vector<int>& capabilities);

}  // namespace stockade
