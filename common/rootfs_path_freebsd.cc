#if defined(__FreeBSD__)
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/rootfs_path.h"

namespace stockade {

// No openat2 here: the same rules by a walk of the components in user space.
int OpenInRoot(int root_fd, const char* path, int flags, mode_t mode) {
  return WalkInRoot(root_fd, path, flags, mode, nullptr, 0);
}

// fdescfs (mounted on /dev/fd) names a descriptor's file.
const char* FdPath(int fd, FdPathBuffer& buf) {
  std::snprintf(buf.text, sizeof(buf.text), "/dev/fd/%d", fd);
  return buf.text;
}

}  // namespace stockade
#endif  // __FreeBSD__
