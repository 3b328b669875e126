// The stdio of a process that a streaming client (kubectl exec/attach, crictl) is connected
// to: an exec session's command, or a container's main process when attaching. Descriptors
// are owned here and non-blocking; closing them (destroying this) ends an exec session's
// command, or detaches.
#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace stockade {

class ProcessStream {
 public:
  virtual ~ProcessStream() = default;

  UniqueFd input;   // to the process's stdin; empty without stdin
  UniqueFd output;  // its stdout; with a TTY, the terminal (all output comes here)
  UniqueFd errors;  // its stderr; empty with a TTY or when not asked for
  // Readable (or hung up) once the command has ended, or the attachment is over.
  UniqueFd done;

  // Once `done` is readable: the command's exit code (0 for an attachment that ended), or why
  // it never ran.
  virtual absl::StatusOr<int> Result() = 0;
  // The terminal's size (TTY sessions only).
  virtual absl::Status Resize(uint16_t width, uint16_t height) = 0;
};

}  // namespace stockade
