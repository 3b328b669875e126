// Devices for one container jail without privileged: a devfs ruleset made for the container
// that includes the jail default (devfsrules_jail, which hides everything but the basics) and
// then unhides exactly the requested nodes, with modes from their permissions; nodes asked for
// under another name get a symlink in the container's /dev. Plain logic, unit-tested on every
// OS; devfs_rules_freebsd.cc loads the rules with devfs(4)'s ioctls.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace stockade::freebsd {

struct DeviceRequest {
  std::string host_path;       // /dev/<name> on the node
  std::string container_path;  // where the container sees it ("" or the same: host_path)
  std::string permissions;     // CRI/Nomad "rwm" letters
};

struct DevfsRule {
  uint16_t number = 0;   // the rule's number in its ruleset
  std::string pattern;   // a path under /dev, without the /dev/ ("nvidia0", "dri/card0")
  bool include = false;  // `add include <include_ruleset>`
  uint16_t include_ruleset = 0;
  bool unhide = false;
  std::optional<uint32_t> mode;  // e.g. 0666
  bool operator==(const DevfsRule& o) const {
    return number == o.number && pattern == o.pattern && include == o.include &&
           include_ruleset == o.include_ruleset && unhide == o.unhide && mode == o.mode;
  }
};

struct DevfsSymlink {
  std::string link;    // inside the container's /dev ("xnull" for /dev/xnull)
  std::string target;  // the node's name in that devfs ("null")
};

struct DevfsPlan {
  std::vector<DevfsRule> rules;
  std::vector<DevfsSymlink> symlinks;
};

// The first ruleset number tried for a container: a stable hash of its id into
// [kFirstRuleset, 65535]; collisions move to the next free one when loaded.
inline constexpr uint16_t kFirstContainerRuleset = 1000;
uint16_t ContainerRulesetNumber(const std::string& container_id);

// InvalidArgument for a device outside /dev, a container path outside /dev, a pattern with
// glob characters (a request names one node), or permissions other than r, w, m.
absl::StatusOr<DevfsPlan> PlanDevfsRuleset(uint16_t base_ruleset,
                                           const std::vector<DeviceRequest>& devices);

// The `devfs rule -s N add ...` lines of a plan, for logs and the operator.
std::vector<std::string> DevfsRuleLines(uint16_t ruleset, const DevfsPlan& plan);

}  // namespace stockade::freebsd
