// The FreeBSD ResourceLimiter: rctl(4) rules per jail from the core's limits (memoryuse,
// pcpu, maxproc), changed in place, removed with the scope; usage from rctl_get_racct(2).
// A scope is the jail ParseScope names. FreeBSD only (rctl_limiter_freebsd.cc).
#pragma once

#include <memory>

#include "runtime/jail_backend.h"

namespace stockade::freebsd {

std::unique_ptr<ResourceLimiter> NewRctlLimiter();

}  // namespace stockade::freebsd
