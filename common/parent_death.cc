#include "common/parent_death.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"

namespace stockade {

absl::Status DieWithParent(pid_t expected_parent) {
  if (absl::Status s = ArmParentDeathSignal(); !s.ok()) return s;
  if (::getppid() != expected_parent) {
    return absl::FailedPreconditionError(
        absl::StrCat("the parent process ", expected_parent, " is gone"));
  }
  return absl::OkStatus();
}

}  // namespace stockade
