#include <signal.h>
#include <sys/procctl.h>

#include <cerrno>

#include "common/errors.h"
#include "common/parent_death.h"

namespace stockade {

absl::Status ArmParentDeathSignal() {
  int signal_number = SIGKILL;
  if (::procctl(P_PID, 0, PROC_PDEATHSIG_CTL, &signal_number) != 0) {
    return ErrnoError(errno, "procctl(PROC_PDEATHSIG_CTL)");
  }
  return absl::OkStatus();
}

}  // namespace stockade
