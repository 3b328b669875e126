// Terminals that belong to a container: allocated from the container's own devpts instance
// (its /dev/pts/ptmx), so that the command sees /dev/pts/N as the container knows it (`tty`,
// ttyname() work), as runc's console does. The master goes to whoever relays the stream; the
// slave is opened through the master (TIOCGPTPEER), never by a path. Linux only.
#pragma once

#include <sys/types.h>

#include "absl/status/statusor.h"
#include "common/fd_passing.h"  // how a terminal's master travels
#include "common/unique_fd.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)  // Linux 4.13; older libc headers lack the name
#endif

namespace stockade {

struct Terminal {
  UniqueFd master, slave;
};

// A new terminal in the devpts mounted at `<root_fd>/dev/pts`, looked up inside that root.
// Refuses anything at dev/pts/ptmx that is not the pty multiplexer (a hostile image's or a
// privileged container's replacement).
absl::StatusOr<Terminal> OpenTerminalInRoot(int root_fd);

// The same for the running container whose init is `pid` (a child of the caller), through
// /proc/<pid>/root.
absl::StatusOr<Terminal> OpenContainerTerminal(pid_t pid);

}  // namespace stockade
