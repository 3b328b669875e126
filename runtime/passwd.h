// Reading a container image's /etc/passwd and /etc/group, which decide the user a container
// runs as (not the node's: names are looked up inside the image).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace stockade {

struct PasswdEntry {
  std::string name;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string home;
};

struct GroupEntry {
  std::string name;
  uint32_t gid = 0;
  std::vector<std::string> members;
};

// Malformed lines are skipped, as libc does.
std::vector<PasswdEntry> ParsePasswd(absl::string_view text);
std::vector<GroupEntry> ParseGroup(absl::string_view text);

std::optional<PasswdEntry> FindUserByName(const std::vector<PasswdEntry>& users,
                                          absl::string_view name);
std::optional<PasswdEntry> FindUserById(const std::vector<PasswdEntry>& users, uint32_t uid);
std::optional<GroupEntry> FindGroupByName(const std::vector<GroupEntry>& groups,
                                          absl::string_view name);

}  // namespace stockade
