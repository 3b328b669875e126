#include "runtime/mountinfo.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

namespace stockade {
namespace {

// mountinfo escapes blanks, tabs, newlines and backslashes in paths as \ooo octal.
std::string Unescape(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      const char a = s[i + 1], b = s[i + 2], c = s[i + 3];
      if (a >= '0' && a <= '7' && b >= '0' && b <= '7' && c >= '0' && c <= '7') {
        out.push_back(static_cast<char>((a - '0') * 64 + (b - '0') * 8 + (c - '0')));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

bool IsUnder(absl::string_view path, absl::string_view mount_point) {
  if (mount_point == "/") return true;
  return absl::StartsWith(path, mount_point) &&
         (path.size() == mount_point.size() || path[mount_point.size()] == '/');
}

}  // namespace

std::optional<MountPropagationInfo> MountOf(absl::string_view mountinfo, absl::string_view path) {
  std::optional<MountPropagationInfo> best;
  for (absl::string_view line : absl::StrSplit(mountinfo, '\n', absl::SkipEmpty())) {
    // id parent major:minor root mount-point options [optional fields...] - fstype source ...
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ');
    if (fields.size() < 7) continue;
    const std::string mount_point = Unescape(fields[4]);
    if (!IsUnder(path, mount_point)) continue;
    if (best && mount_point.size() < best->mount_point.size()) continue;
    MountPropagationInfo info;
    info.mount_point = mount_point;
    for (size_t i = 6; i < fields.size() && fields[i] != "-"; ++i) {
      info.shared |= absl::StartsWith(fields[i], "shared:");
      info.slave |= absl::StartsWith(fields[i], "master:");
    }
    best = info;
  }
  return best;
}

}  // namespace stockade
