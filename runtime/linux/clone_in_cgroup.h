// Processes made in their cgroup. Moving a process between cgroups (a write to cgroup.procs)
// write-locks the kernel's cgroup_threadgroup_rwsem, which waits for an RCU grace period when
// the lock's fast path has gone idle: 10-20 ms here on some container starts. On cgroup v2,
// clone3 with CLONE_INTO_CGROUP makes the child in its cgroup instead: no such lock, and
// nothing the child does before exec is accounted outside its cgroup.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/unique_fd.h"

namespace stockade {

// The one cgroup v2 directory whose cgroup.procs `procs_files` names, opened; invalid when
// they name v1 hierarchies (several files, or one not on cgroup2).
UniqueFd OpenCgroup2Directory(const std::vector<std::string>& procs_files);

// Like fork (no atfork handlers: the caller is single-threaded, or its child only makes system
// calls), with `flags` (namespaces, CLONE_*): in `cgroup` when it is valid and clone3 allows it,
// `*in_cgroup` then true. Otherwise a plain clone (a kernel before 5.7, a seccomp filter that
// refuses clone3): `*in_cgroup` false, and the child enters its cgroups itself.
pid_t CloneInCgroup(int flags, const UniqueFd& cgroup, bool* in_cgroup);

}  // namespace stockade
