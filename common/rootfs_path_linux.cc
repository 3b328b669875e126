#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/rootfs_path.h"
#include "common/unique_fd.h"

namespace stockade {

int OpenInRoot(int root_fd, const char* path, int flags, mode_t mode) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & (O_CREAT | O_TMPFILE)) != 0 ? mode : 0;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  // An empty path or "/" is the root itself.
  const char* p = path;
  while (*p == '/') ++p;
  if (*p == '\0') p = ".";
  while (true) {
    const long fd = ::syscall(SYS_openat2, root_fd, p, &how, sizeof(how));
    if (fd >= 0) return static_cast<int>(fd);
    // EAGAIN: a rename raced the lookup somewhere in the tree; the kernel asks to retry.
    if (errno != EAGAIN && errno != EINTR) return -1;
  }
}

const char* FdPath(int fd, FdPathBuffer& buf) {
  std::snprintf(buf.text, sizeof(buf.text), "/proc/self/fd/%d", fd);
  return buf.text;
}

}  // namespace stockade
