// How a container's main process ended, recorded by the shim in a small file that the daemon
// reads, also after it restarts. Written to a temp file, fsynced and renamed: a reader sees the
// whole record or none.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace stockade {

struct ExitRecord {
  int32_t exit_code = 0;    // 128 + signal when killed by a signal, as shells report it
  int32_t signal = 0;       // the signal that killed it, 0 for a normal exit
  bool oom_killed = false;  // the kernel's OOM killer ended it
  int64_t finished_at_unix_nano = 0;
};

absl::Status WriteExitRecord(const std::string& path, const ExitRecord& record);
// NotFound while the process has not exited; DataLoss for a damaged file.
absl::StatusOr<ExitRecord> ReadExitRecord(const std::string& path);

}  // namespace stockade
