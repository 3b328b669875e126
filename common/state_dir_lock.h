// An exclusive advisory lock on a daemon's state directory, so that two daemons never share one
// RocksDB and one set of jails. Held for the life of the object; the kernel drops it when the
// process dies, so a crash never leaves a stale lock behind.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace stockade {

class StateDirLock {
 public:
  // Takes `<dir>/stockaded.lock` and records our pid in it. FailedPrecondition, naming the
  // holder's pid, when another process holds it.
  static absl::StatusOr<StateDirLock> Acquire(const std::string& dir);

  StateDirLock(StateDirLock&&) = default;
  StateDirLock& operator=(StateDirLock&&) = default;

  const std::string& path() const { return path_; }

 private:
  StateDirLock(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  std::string path_;
  UniqueFd fd_;
};

}  // namespace stockade
