#include "runtime/shim/exit_record.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/errors.h"
#include "common/unique_fd.h"

namespace stockade {

absl::Status WriteExitRecord(const std::string& path, const ExitRecord& r) {
  const std::string text = absl::StrCat("exit_code=", r.exit_code, "\nsignal=", r.signal,
                                        "\noom_killed=", r.oom_killed ? 1 : 0,
                                        "\nfinished_at_unix_nano=", r.finished_at_unix_nano, "\n");
  const std::string temp = absl::StrCat(path, ".tmp");
  {
    UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd) return ErrnoError(errno, absl::StrCat("create ", temp));
    if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
        ::fsync(fd.get()) != 0) {
      return ErrnoError(errno, absl::StrCat("write ", temp));
    }
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    return ErrnoError(errno, absl::StrCat("rename ", temp, " to ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<ExitRecord> ReadExitRecord(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat(path, " does not exist yet"));
    return ErrnoError(errno, absl::StrCat("open ", path));
  }
  char buf[512];
  ssize_t n = ::read(fd.get(), buf, sizeof(buf));
  if (n < 0) return ErrnoError(errno, absl::StrCat("read ", path));
  ExitRecord r;
  int fields = 0;
  for (absl::string_view line :
       absl::StrSplit(absl::string_view(buf, static_cast<size_t>(n)), '\n', absl::SkipEmpty())) {
    const size_t eq = line.find('=');
    if (eq == absl::string_view::npos) continue;
    const absl::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    int64_t v = 0;
    if (!absl::SimpleAtoi(value, &v)) continue;
    if (key == "exit_code") r.exit_code = static_cast<int32_t>(v), ++fields;
    if (key == "signal") r.signal = static_cast<int32_t>(v), ++fields;
    if (key == "oom_killed") r.oom_killed = v != 0, ++fields;
    if (key == "finished_at_unix_nano") r.finished_at_unix_nano = v, ++fields;
  }
  if (fields != 4) return absl::DataLossError(absl::StrCat(path, " is not a complete exit record"));
  return r;
}

}  // namespace stockade
