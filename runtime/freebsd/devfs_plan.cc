#include "runtime/freebsd/devfs_plan.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"

namespace stockade::freebsd {
namespace {

absl::StatusOr<std::string> DevName(const std::string& path, absl::string_view what) {
  absl::string_view name = path;
  if (!absl::ConsumePrefix(&name, "/dev/") || name.empty() || absl::StrContains(name, "..") ||
      absl::StrContains(name, "//") || name.back() == '/') {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " \"", path,
                     "\" must be a node under /dev (FreeBSD exposes devices "
                     "to jails only through devfs)"));
  }
  if (name.find_first_of("*?[]\\") != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " \"", path, "\" must name one node, without glob characters"));
  }
  return std::string(name);
}

}  // namespace

uint16_t ContainerRulesetNumber(const std::string& container_id) {
  uint32_t h = 2166136261u;  // FNV-1a
  for (char c : container_id) {
    h ^= static_cast<unsigned char>(c);
    h *= 16777619u;
  }
  return static_cast<uint16_t>(kFirstContainerRuleset + h % (65536u - kFirstContainerRuleset));
}

absl::StatusOr<DevfsPlan> PlanDevfsRuleset(uint16_t base_ruleset,
                                           const std::vector<DeviceRequest>& devices) {
  DevfsPlan plan;
  uint16_t number = 100;
  plan.rules.push_back({number, "", true, base_ruleset, false, std::nullopt});
  for (const DeviceRequest& d : devices) {
    absl::StatusOr<std::string> name = DevName(d.host_path, "device");
    if (!name.ok()) return name.status();
    uint32_t mode = 0;
    for (char p : d.permissions.empty() ? std::string("rwm") : d.permissions) {
      if (p == 'r') {
        mode |= 0444;
      } else if (p == 'w') {
        mode |= 0222;
      } else if (p != 'm') {  // mknod: there is no mknod in a jail's devfs
        return absl::InvalidArgumentError(absl::StrCat("device ", d.host_path, ": permissions \"",
                                                       d.permissions, "\" are not r, w, m"));
      }
    }
    if (plan.rules.size() >= 600) {
      return absl::InvalidArgumentError("more than 500 device rules for one container");
    }
    number = static_cast<uint16_t>(number + 100);
    plan.rules.push_back({number, *name, false, 0, true, mode});
    // The directories on the way ("dri" for "dri/card0") are unhidden with it, numbered after.
    uint16_t dir_number = number;
    for (size_t slash = name->find('/'); slash != std::string::npos;
         slash = name->find('/', slash + 1)) {
      plan.rules.push_back({++dir_number, name->substr(0, slash), false, 0, true, std::nullopt});
    }
    if (!d.container_path.empty() && d.container_path != d.host_path) {
      absl::StatusOr<std::string> link = DevName(d.container_path, "device container path");
      if (!link.ok()) return link.status();
      plan.symlinks.push_back({*link, *name});
    }
  }
  return plan;
}

std::vector<std::string> DevfsRuleLines(uint16_t ruleset, const DevfsPlan& plan) {
  std::vector<std::string> lines;
  for (const DevfsRule& r : plan.rules) {
    std::string line = absl::StrCat("devfs rule -s ", ruleset, " add ", r.number, " ");
    if (r.include) {
      absl::StrAppend(&line, "include ", r.include_ruleset);
    } else {
      absl::StrAppend(&line, "path '", r.pattern, "' ", r.unhide ? "unhide" : "hide");
      if (r.mode) absl::StrAppend(&line, absl::StrFormat(" mode %04o", *r.mode));
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

}  // namespace stockade::freebsd
