// FreeBSD's resource accounting (RACCT) as rctl_get_racct(2) reports it for a jail, and the
// rctl(4) rule filters the limiter removes rules with. Plain text handling, unit-tested on
// every OS; rctl_limiter_freebsd.cc makes the calls.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/jail_backend.h"

namespace stockade::freebsd {

// The jail a resource scope of the core names: "stockade/pod-<pod id>" is the pod's jail,
// "<pod scope>/ctr-<container id>" a container's. A pod scope under a kubelet cgroup parent
// carries no pod id: its jail is found by the container id alone (`pod_id` empty).
struct ScopeJail {
  std::string pod_id, container_id;  // container_id empty: the pod's own scope
};
absl::StatusOr<ScopeJail> ParseScope(absl::string_view scope);

// "jail:<name>:": the filter of every rule and of the usage of one jail.
std::string RctlJailFilter(const std::string& jail_name);

// rctl_get_racct's output, "cputime=12,datasize=1024,...,memoryuse=8192,...,maxproc=3,..."
// (a trailing NUL or newline allowed), as resource -> amount. InvalidArgument for a pair that is
// not name=number.
absl::StatusOr<std::map<std::string, int64_t>> ParseRacct(absl::string_view text);

// The usage kubelet's and Nomad's stats read, from a parsed racct: cputime (seconds) as
// nanoseconds, memoryuse as usage, working set and RSS (FreeBSD has no page cache charged to a
// jail), maxproc as the process count, pcpu (percent of one CPU) as the current nano cores.
ScopeUsage UsageFromRacct(const std::map<std::string, int64_t>& racct);

// What to tell the operator when the kernel has no RACCT (rctl calls fail with ENOSYS):
// FailedPrecondition naming the loader tunable.
absl::Status RacctDisabledError(absl::string_view what);

}  // namespace stockade::freebsd
