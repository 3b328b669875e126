#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "runtime/freebsd/mount_calls.h"

namespace stockade::freebsd {

std::vector<std::pair<std::string, std::string>> NmountOptions(const MountStep& step) {
  std::vector<std::pair<std::string, std::string>> out = {{"fstype", step.fstype},
                                                          {"fspath", step.target}};
  if (step.fstype == "nullfs") {
    out.emplace_back("target", step.source);
  } else {
    out.emplace_back("from", step.source.empty() ? step.fstype : step.source);
  }
  for (const std::string& option : step.options) {
    const size_t eq = option.find('=');
    if (eq == std::string::npos) {
      out.emplace_back(option, "");
    } else {
      out.emplace_back(option.substr(0, eq), option.substr(eq + 1));
    }
  }
  return out;
}

std::vector<std::string> MountsToUnmount(const std::vector<std::string>& mount_points,
                                         const std::string& root) {
  const std::string base(absl::StripSuffix(root, "/"));
  std::vector<std::string> out;
  if (base.empty()) return out;  // never the node's /
  for (const std::string& m : mount_points) {
    if (m == base || absl::StartsWith(m, base + "/")) out.push_back(m);
  }
  auto depth = [](const std::string& p) { return std::count(p.begin(), p.end(), '/'); };
  std::stable_sort(out.begin(), out.end(), [&](const std::string& a, const std::string& b) {
    return depth(a) > depth(b) || (depth(a) == depth(b) && a > b);
  });
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace stockade::freebsd
