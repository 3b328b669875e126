#include "runtime/shim/cri_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/errors.h"

namespace stockade {

std::string FormatCriLogTime(absl::Time t) {
  const absl::Time second = absl::FromUnixSeconds(absl::ToUnixSeconds(t));
  const int64_t nanos = absl::ToInt64Nanoseconds(t - second);
  return absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%S", t, absl::UTCTimeZone()), ".",
                      absl::StrFormat("%09d", nanos), "Z");
}

absl::StatusOr<std::unique_ptr<CriLogFile>> CriLogFile::Open(const std::string& path) {
  std::unique_ptr<CriLogFile> file(new CriLogFile(path));
  if (absl::Status s = file->Reopen(); !s.ok()) return s;
  return file;
}

absl::Status CriLogFile::Reopen() {
  UniqueFd fd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!fd) return ErrnoError(errno, absl::StrCat("open container log ", path_));
  absl::MutexLock lock(&mu_);
  fd_ = std::move(fd);
  return absl::OkStatus();
}

absl::Status CriLogFile::Append(absl::string_view entry) {
  absl::MutexLock lock(&mu_);
  while (!entry.empty()) {
    ssize_t n = ::write(fd_.get(), entry.data(), entry.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, absl::StrCat("write container log ", path_));
    }
    entry.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::Status CriLogStream::Emit(absl::string_view text, bool partial) {
  return file_.Append(absl::StrCat(FormatCriLogTime(clock_()), " ", stream_, " ",
                                   partial ? "P" : "F", " ", text, "\n"));
}

absl::Status CriLogStream::Feed(absl::string_view data) {
  while (!data.empty()) {
    const size_t newline = data.find('\n');
    const absl::string_view piece =
        newline == absl::string_view::npos ? data : data.substr(0, newline);
    pending_.append(piece.data(), piece.size());
    while (pending_.size() > max_line_) {
      if (absl::Status s = Emit(absl::string_view(pending_).substr(0, max_line_), true); !s.ok()) {
        return s;
      }
      pending_.erase(0, max_line_);
    }
    if (newline == absl::string_view::npos) break;
    if (absl::Status s = Emit(pending_, false); !s.ok()) return s;
    pending_.clear();
    data.remove_prefix(newline + 1);
  }
  return absl::OkStatus();
}

absl::Status CriLogStream::Close() {
  if (pending_.empty()) return absl::OkStatus();
  absl::Status s = Emit(pending_, false);
  pending_.clear();
  return s;
}

}  // namespace stockade
