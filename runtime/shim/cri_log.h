// The CRI container log format that kubelet reads, written by the pod's shim:
//   <RFC3339Nano time> <stdout|stderr> <P|F> <text>\n
// One entry per line of output; a line longer than the maximum is cut into P(artial) entries
// and ends with an F(ull) one. Both streams of a container share one file, and the file can be
// reopened for log rotation (CRI ReopenContainerLog). No protobuf or gRPC: this is shim code.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/unique_fd.h"

namespace stockade {

// "2026-11-27T09:50:25.123456789Z": UTC with nanoseconds, as CRI-O writes it.
std::string FormatCriLogTime(absl::Time t);

// The shared log file of one container.
class CriLogFile {
 public:
  // Opens (creating, mode 0640, appending) `path`.
  static absl::StatusOr<std::unique_ptr<CriLogFile>> Open(const std::string& path);
  // Appends one entry with a single write(2), so entries of the two streams never interleave.
  absl::Status Append(absl::string_view entry);
  // Closes and opens the path again: the rotated file keeps what was written, a new file gets
  // what follows.
  absl::Status Reopen();
  const std::string& path() const { return path_; }

 private:
  explicit CriLogFile(std::string path) : path_(std::move(path)) {}
  std::string path_;
  absl::Mutex mu_;
  UniqueFd fd_ ABSL_GUARDED_BY(mu_);
};

// Turns one output stream's bytes into log entries.
class CriLogStream {
 public:
  static constexpr size_t kDefaultMaxLine = 16 * 1024;  // containerd's default

  CriLogStream(CriLogFile& file, std::string stream_name, size_t max_line = kDefaultMaxLine,
               std::function<absl::Time()> clock = absl::Now)
      : file_(file),
        stream_(std::move(stream_name)),
        max_line_(max_line),
        clock_(std::move(clock)) {}

  // Any bytes, in any chunks; complete lines are written at once.
  absl::Status Feed(absl::string_view data);
  // The stream ended: what is left becomes a final F entry.
  absl::Status Close();

 private:
  absl::Status Emit(absl::string_view text, bool partial);

  CriLogFile& file_;
  std::string stream_;
  size_t max_line_;
  std::function<absl::Time()> clock_;
  std::string pending_;
};

}  // namespace stockade
