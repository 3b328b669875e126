#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/errors.h"
#include "runtime/metrics/process_stats.h"

namespace stockade {
namespace {

absl::StatusOr<std::string> ReadWholeFile(const char* path) {
  std::ifstream in(path);
  if (!in) return ErrnoError(errno, std::string("read ") + path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

absl::StatusOr<double> BootTimeSeconds() {
  absl::StatusOr<std::string> stat = ReadWholeFile("/proc/stat");
  if (!stat.ok()) return stat.status();
  for (absl::string_view line : absl::StrSplit(*stat, '\n')) {
    if (line.substr(0, 6) == "btime ") {
      double btime = 0;
      if (absl::SimpleAtod(line.substr(6), &btime)) return btime;
    }
  }
  return absl::InternalError("/proc/stat has no btime line");
}

}  // namespace

absl::StatusOr<ProcessStats> ReadSelfProcessStats() {
  absl::StatusOr<std::string> stat = ReadWholeFile("/proc/self/stat");
  if (!stat.ok()) return stat.status();
  // The command name (field 2) may hold spaces; fields are counted after its closing paren.
  size_t paren = stat->rfind(')');
  if (paren == std::string::npos) return absl::InternalError("unparsable /proc/self/stat");
  std::vector<absl::string_view> f =
      absl::StrSplit(absl::string_view(*stat).substr(paren + 2), ' ', absl::SkipEmpty());
  // f[0] is field 3 (state): field N is f[N - 3].
  if (f.size() < 22) return absl::InternalError("short /proc/self/stat");
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  uint64_t utime = 0, stime = 0, threads = 0, start = 0, vsize = 0, rss = 0;
  if (!absl::SimpleAtoi(f[14 - 3], &utime) || !absl::SimpleAtoi(f[15 - 3], &stime) ||
      !absl::SimpleAtoi(f[20 - 3], &threads) || !absl::SimpleAtoi(f[22 - 3], &start) ||
      !absl::SimpleAtoi(f[23 - 3], &vsize) || !absl::SimpleAtoi(f[24 - 3], &rss)) {
    return absl::InternalError("unparsable fields in /proc/self/stat");
  }
  ProcessStats s;
  s.cpu_seconds = static_cast<double>(utime + stime) / ticks;
  s.threads = threads;
  s.virtual_bytes = vsize;
  s.resident_bytes = rss * page;
  absl::StatusOr<double> boot = BootTimeSeconds();
  if (boot.ok()) s.start_time_seconds = *boot + static_cast<double>(start) / ticks;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++s.open_fds;
  }
  return s;
}

}  // namespace stockade
