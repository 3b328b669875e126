#include <signal.h>
#include <sys/prctl.h>

#include <cerrno>

#include "common/errors.h"
#include "common/parent_death.h"

namespace stockade {

absl::Status ArmParentDeathSignal() {
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) {
    return ErrnoError(errno, "prctl(PR_SET_PDEATHSIG)");
  }
  return absl::OkStatus();
}

}  // namespace stockade
