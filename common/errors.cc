#include "common/errors.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace stockade {

absl::Status ErrnoError(int errno_value, absl::string_view what) {
  return absl::ErrnoToStatus(errno_value, what);
}

absl::Status WithContext(const absl::Status& status, absl::string_view context) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(context, ": ", status.message()));
}

}  // namespace stockade
