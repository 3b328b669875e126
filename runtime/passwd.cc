#include "runtime/passwd.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace stockade {

std::vector<PasswdEntry> ParsePasswd(absl::string_view text) {
  std::vector<PasswdEntry> out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty() || line.front() == '#') continue;
    std::vector<absl::string_view> f = absl::StrSplit(line, ':');
    PasswdEntry e;
    if (f.size() < 7 || f[0].empty() || !absl::SimpleAtoi(f[2], &e.uid) ||
        !absl::SimpleAtoi(f[3], &e.gid)) {
      continue;
    }
    e.name = std::string(f[0]);
    e.home = std::string(f[5]);
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<GroupEntry> ParseGroup(absl::string_view text) {
  std::vector<GroupEntry> out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty() || line.front() == '#') continue;
    std::vector<absl::string_view> f = absl::StrSplit(line, ':');
    GroupEntry e;
    if (f.size() < 4 || f[0].empty() || !absl::SimpleAtoi(f[2], &e.gid)) continue;
    e.name = std::string(f[0]);
    for (absl::string_view m : absl::StrSplit(f[3], ',', absl::SkipEmpty())) {
      e.members.emplace_back(m);
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::optional<PasswdEntry> FindUserByName(const std::vector<PasswdEntry>& users,
                                          absl::string_view name) {
  for (const PasswdEntry& u : users) {
    if (u.name == name) return u;
  }
  return std::nullopt;
}

std::optional<PasswdEntry> FindUserById(const std::vector<PasswdEntry>& users, uint32_t uid) {
  for (const PasswdEntry& u : users) {
    if (u.uid == uid) return u;
  }
  return std::nullopt;
}

std::optional<GroupEntry> FindGroupByName(const std::vector<GroupEntry>& groups,
                                          absl::string_view name) {
  for (const GroupEntry& g : groups) {
    if (g.name == name) return g;
  }
  return std::nullopt;
}

}  // namespace stockade
