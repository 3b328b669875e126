// Passing one descriptor over a unix socket (SCM_RIGHTS) with a one-byte message ('T'): how a
// terminal's master travels from a container's init to its shim, and from the shim to the
// daemon. POSIX; the same on Linux and FreeBSD.
#pragma once

#include "common/unique_fd.h"

namespace stockade {

bool SendDescriptor(int socket, int fd);
// Sets `first` to the byte read (0 at EOF), so a caller can tell another answer (a JSON error
// line) from the descriptor's message. The descriptor arrives close-on-exec.
UniqueFd ReceiveDescriptor(int socket, char* first = nullptr);

}  // namespace stockade
