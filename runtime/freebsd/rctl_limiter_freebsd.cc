#include "runtime/freebsd/rctl_limiter.h"

#include <sys/rctl.h>
#include <sys/types.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "runtime/freebsd/jail_calls.h"
#include "runtime/freebsd/jail_plan.h"
#include "runtime/freebsd/racct.h"

namespace stockade::freebsd {
namespace {

// The resources PlanRctlRules may set: what Update clears before it sets the new amounts.
constexpr const char* kLimitedResources[] = {"memoryuse", "pcpu", "maxproc", "openfiles"};

absl::StatusOr<std::string> JailOfScope(const std::string& scope) {
  absl::StatusOr<ScopeJail> jail = ParseScope(scope);
  if (!jail.ok()) return jail.status();
  if (jail->pod_id.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "resource scope ", scope,
        ": FreeBSD pods take no cgroup parent (run kubelet with --cgroups-per-qos=false)"));
  }
  return jail->container_id.empty() ? PodJailName(jail->pod_id)
                                    : ContainerJailName(jail->pod_id, jail->container_id);
}

absl::Status RctlError(int err, const std::string& what) {
  if (err == ENOSYS) return RacctDisabledError(what);
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(err)));
}

absl::Status AddRule(const std::string& rule) {
  if (::rctl_add_rule(rule.c_str(), rule.size() + 1, nullptr, 0) != 0) {
    return RctlError(errno, absl::StrCat("rctl add ", rule));
  }
  return absl::OkStatus();
}

// Removes the rules `filter` matches; none matching is no error.
absl::Status RemoveRules(const std::string& filter) {
  if (::rctl_remove_rule(filter.c_str(), filter.size() + 1, nullptr, 0) != 0 && errno != ESRCH) {
    return RctlError(errno, absl::StrCat("rctl remove ", filter));
  }
  return absl::OkStatus();
}

class RctlLimiter final : public ResourceLimiter {
 public:
  absl::Status Create(const std::string& scope, const ResourceLimits& limits) override {
    absl::StatusOr<std::string> jail = JailOfScope(scope);
    if (!jail.ok()) return jail.status();
    for (const std::string& rule : PlanRctlRules(*jail, limits)) {
      if (absl::Status s = AddRule(rule); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status Update(const std::string& scope, const ResourceLimits& limits) override {
    absl::StatusOr<std::string> jail = JailOfScope(scope);
    if (!jail.ok()) return jail.status();
    // rctl has no "change": the resource's old rule goes, the new one comes right after.
    for (const char* resource : kLimitedResources) {
      if (absl::Status s = RemoveRules(absl::StrCat(RctlJailFilter(*jail), resource)); !s.ok()) {
        return s;
      }
    }
    return Create(scope, limits);
  }

  absl::StatusOr<int64_t> OomKills(const std::string& scope) override {
    return 0;  // memoryuse:deny makes allocations fail; FreeBSD kills no process for it
  }

  absl::Status KillAll(const std::string& scope) override {
    absl::StatusOr<std::string> jail = JailOfScope(scope);
    if (!jail.ok()) return jail.status();
    // Removing a jail kills every process in it (and in its children).
    return RemoveJail(*jail);
  }

  absl::StatusOr<ScopeUsage> Usage(const std::string& scope) override {
    absl::StatusOr<std::string> jail = JailOfScope(scope);
    if (!jail.ok()) return jail.status();
    const std::string filter = RctlJailFilter(*jail);
    std::vector<char> out(4096);
    while (::rctl_get_racct(filter.c_str(), filter.size() + 1, out.data(), out.size()) != 0) {
      if (errno == ERANGE && out.size() < (1u << 20)) {
        out.resize(out.size() * 2);
        continue;
      }
      if (errno == ESRCH || errno == ENOENT) return ScopeUsage{};  // nothing ran in it yet
      return RctlError(errno, absl::StrCat("rctl usage of ", *jail));
    }
    absl::StatusOr<std::map<std::string, int64_t>> racct =
        ParseRacct(absl::string_view(out.data(), ::strnlen(out.data(), out.size())));
    if (!racct.ok()) return racct.status();
    return UsageFromRacct(*racct);
  }

  absl::Status Remove(const std::string& scope) override {
    absl::StatusOr<std::string> jail = JailOfScope(scope);
    if (!jail.ok()) return jail.status();
    return RemoveRules(RctlJailFilter(*jail));
  }
};

}  // namespace

std::unique_ptr<ResourceLimiter> NewRctlLimiter() { return std::make_unique<RctlLimiter>(); }

}  // namespace stockade::freebsd
