// An exclusive lock that processes share through a file (flock(2)): held from Acquire until
// the object is destroyed, which also removes the file, so lock files do not pile up. A waiter
// that locked a file which was meanwhile removed (or replaced) starts over on the new one.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace stockade {

class FileLock {
 public:
  // Blocks until the lock at `path` is ours. The directory must exist.
  static absl::StatusOr<FileLock> Acquire(const std::string& path);

  // Removes the lock file at `path` unless someone holds it (what a killed holder left).
  static void RemoveIfFree(const std::string& path);

  FileLock(FileLock&&) noexcept = default;
  FileLock& operator=(FileLock&&) noexcept = delete;
  ~FileLock();

 private:
  FileLock(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  std::string path_;
  UniqueFd fd_;
};

}  // namespace stockade
