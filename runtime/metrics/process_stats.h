// What the process metrics report about the daemon itself, read from the OS.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"

namespace stockade {

struct ProcessStats {
  double cpu_seconds = 0;  // user + system
  uint64_t resident_bytes = 0;
  uint64_t virtual_bytes = 0;
  uint64_t open_fds = 0;
  uint64_t threads = 0;
  double start_time_seconds = 0;  // since the Unix epoch
};

// Implemented per OS: process_stats_linux.cc (procfs), process_stats_freebsd.cc (sysctl).
absl::StatusOr<ProcessStats> ReadSelfProcessStats();

}  // namespace stockade
