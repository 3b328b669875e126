#include "runtime/freebsd/racct.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace stockade::freebsd {

absl::StatusOr<ScopeJail> ParseScope(absl::string_view scope) {
  ScopeJail jail;
  std::vector<absl::string_view> parts = absl::StrSplit(scope, '/', absl::SkipEmpty());
  auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("resource scope \"", scope, "\" names no stockade pod or container"));
  };
  if (parts.empty()) return bad();
  if (absl::ConsumePrefix(&parts.back(), "ctr-")) {
    jail.container_id = std::string(parts.back());
    parts.pop_back();
    if (jail.container_id.empty()) return bad();
  }
  if (!parts.empty() && absl::StartsWith(parts.back(), "pod-") && parts.size() >= 2 &&
      parts[parts.size() - 2] == "stockade") {
    jail.pod_id = std::string(parts.back().substr(4));
  }
  if (jail.pod_id.empty() && jail.container_id.empty()) return bad();
  return jail;
}

std::string RctlJailFilter(const std::string& jail_name) {
  return absl::StrCat("jail:", jail_name, ":");
}

absl::StatusOr<std::map<std::string, int64_t>> ParseRacct(absl::string_view text) {
  // The kernel's buffer ends in a NUL; rctl(8) output in a newline.
  while (!text.empty() && (text.back() == '\0' || text.back() == '\n')) text.remove_suffix(1);
  std::map<std::string, int64_t> out;
  for (absl::string_view pair : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    const size_t eq = pair.find('=');
    int64_t amount = 0;
    if (eq == absl::string_view::npos || eq == 0 ||
        !absl::SimpleAtoi(pair.substr(eq + 1), &amount)) {
      return absl::InvalidArgumentError(
          absl::StrCat("racct: \"", pair, "\" is not resource=amount"));
    }
    out[std::string(pair.substr(0, eq))] = amount;
  }
  return out;
}

ScopeUsage UsageFromRacct(const std::map<std::string, int64_t>& racct) {
  auto get = [&](const char* name) -> uint64_t {
    auto it = racct.find(name);
    return it == racct.end() || it->second < 0 ? 0 : static_cast<uint64_t>(it->second);
  };
  ScopeUsage u;
  u.cpu_usage_ns = get("cputime") * 1000000000ull;  // racct counts whole seconds
  u.memory_usage_bytes = get("memoryuse");
  u.memory_working_set_bytes = u.memory_usage_bytes;
  u.memory_rss_bytes = u.memory_usage_bytes;
  u.process_count = get("maxproc");
  // pcpu is the jail's current share of one CPU in percent (a decaying average the kernel
  // keeps): the rate kubelet wants, finer than two whole-second cputime samples give.
  if (racct.contains("pcpu")) u.cpu_nano_cores = get("pcpu") * 10'000'000ull;
  return u;
}

absl::Status RacctDisabledError(absl::string_view what) {
  return absl::FailedPreconditionError(
      absl::StrCat(what,
                   ": the kernel's resource accounting is off; set kern.racct.enable=1 in "
                   "/boot/loader.conf and reboot (rctl limits and jail stats need it)"));
}

}  // namespace stockade::freebsd
