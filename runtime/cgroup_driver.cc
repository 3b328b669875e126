#include "runtime/cgroup_driver.h"

#include <sys/stat.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace stockade {

CgroupDriver ResolveCgroupDriver(CgroupDriverSetting setting, const std::string& systemd_marker) {
  switch (setting) {
    case CgroupDriverSetting::kSystemd:
      return CgroupDriver::kSystemd;
    case CgroupDriverSetting::kCgroupfs:
      return CgroupDriver::kCgroupfs;
    case CgroupDriverSetting::kAuto:
      break;
  }
  struct stat st;
  bool systemd = ::lstat(systemd_marker.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  return systemd ? CgroupDriver::kSystemd : CgroupDriver::kCgroupfs;
}

absl::StatusOr<std::string> CgroupParentDirectory(const std::string& cgroup_parent) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("cgroup_parent \"", cgroup_parent, "\" ", why));
  };
  absl::string_view name = cgroup_parent;
  if (!absl::EndsWith(name, ".slice") || absl::StrContains(name, "/")) {
    for (absl::string_view part : absl::StrSplit(name, '/')) {
      if (part == "..") return bad("must not contain \"..\"");
    }
    return std::string(absl::StripPrefix(name, "/"));
  }
  // A systemd slice: each dash opens one more level ("a-b.slice" lives in "a.slice").
  absl::string_view stem = absl::StripSuffix(name, ".slice");
  if (stem == "-") return std::string();  // the root slice
  if (stem.empty() || stem.front() == '-' || stem.back() == '-' || absl::StrContains(stem, "--")) {
    return bad("is not a systemd slice name (dash-separated parts, e.g. kubepods-pod1.slice)");
  }
  std::string path, prefix;
  for (absl::string_view part : absl::StrSplit(stem, '-')) {
    absl::StrAppend(&prefix, prefix.empty() ? "" : "-", part);
    absl::StrAppend(&path, path.empty() ? "" : "/", prefix, ".slice");
  }
  return path;
}

}  // namespace stockade
