// A helper process that must not outlive the process that started it (the image puller):
// the kernel sends it SIGKILL when its parent dies. Linux: PR_SET_PDEATHSIG; FreeBSD:
// procctl(PROC_PDEATHSIG_CTL).
#pragma once

#include <sys/types.h>

#include "absl/status/status.h"

namespace stockade {

// The OS's half (parent_death_<os>.cc): SIGKILL to this process when its parent dies.
absl::Status ArmParentDeathSignal();

// Arms the signal, then checks that the parent is still `expected_parent` (it may have died
// before the signal was armed). FailedPrecondition when it is not.
absl::Status DieWithParent(pid_t expected_parent);

}  // namespace stockade
