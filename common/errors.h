// Helpers that turn OS failures into absl::Status where they happen, with the attempted action
// as context, and that add context on the way up.
#pragma once

#include "absl/strings/string_view.h"

#include "absl/status/status.h"

namespace stockade {

// `what` names the action, e.g. "mount /proc"; the result reads "mount /proc: <strerror>".
absl::Status ErrnoError(int errno_value, absl::string_view what);

// Prefixes a failed status's message with `context` ("context: message"), keeping its code.
absl::Status WithContext(const absl::Status& status, absl::string_view context);

}  // namespace stockade
