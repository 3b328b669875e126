#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/rootfs_path.h"
#include "runtime/linux/container_terminal.h"

namespace stockade {

absl::StatusOr<Terminal> OpenTerminalInRoot(int root_fd) {
  Terminal t;
  t.master.Reset(OpenInRoot(root_fd, "/dev/pts/ptmx", O_RDWR | O_NOCTTY));
  if (!t.master) return ErrnoError(errno, "open the container's /dev/pts/ptmx");
  struct stat st;
  if (::fstat(t.master.get(), &st) != 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != 5 ||
      minor(st.st_rdev) != 2) {
    return absl::FailedPreconditionError(
        "the container's /dev/pts/ptmx is not the pty multiplexer: no terminal for it");
  }
  int unlock = 0;
  if (::ioctl(t.master.get(), TIOCSPTLCK, &unlock) != 0) {
    return ErrnoError(errno, "unlock the container's terminal");
  }
  t.slave.Reset(::ioctl(t.master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!t.slave) return ErrnoError(errno, "open the container's terminal");
  return t;
}

absl::StatusOr<Terminal> OpenContainerTerminal(pid_t pid) {
  UniqueFd root(
      ::open(absl::StrCat("/proc/", pid, "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return ErrnoError(errno, "open the container's root");
  return OpenTerminalInRoot(root.get());
}

}  // namespace stockade
