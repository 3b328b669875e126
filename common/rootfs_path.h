// Paths inside a container's rootfs, resolved inside it: everything in an image is hostile, so
// no path of it is ever joined to the rootfs as a host-side string and looked up from the host's
// "/". Resolution is the kernel's (openat2 with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS): ".."
// stops at the rootfs root and absolute symlinks are taken relative to it, as runc's
// filepath-securejoin does. Mounts are made onto the resulting O_PATH descriptors
// (/proc/self/fd/N), so nothing is looked up again by name after the check.
//
// The fd-level functions allocate nothing and return -1 with errno set, so that a container's
// init may call them between fork and exec. One implementation per OS (rootfs_path_<os>.cc).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"

namespace stockade {

// openat2(root_fd, path, flags | O_CLOEXEC) resolved within root_fd; `path` may be absolute
// (taken relative to the root). A fd, or -1 with errno.
int OpenInRoot(int root_fd, const char* path, int flags, mode_t mode = 0);

// mkdir -p of `path` within the root: every missing component is made with mkdirat on its
// parent's descriptor; a component that exists is followed within the root, a dangling link
// too (its target is made, inside the root, as runc does). An O_PATH fd of the directory, or
// -1 with errno (ENOTDIR when a component is not a directory, ELOOP past 40 links).
int MakeDirectoriesInRoot(int root_fd, const char* path, mode_t mode);

// A mount target inside the root: the existing file or directory, else one made for it (its
// parents with MakeDirectoriesInRoot, then a directory, or an empty regular file when
// `directory` is false). An O_PATH fd, or -1 with errno.
int MountTargetInRoot(int root_fd, const char* path, bool directory);

// The same resolution by a walk of the components in user space (fstatat, readlinkat, openat
// with O_NOFOLLOW): OpenInRoot on systems without openat2 (FreeBSD), and the engine of
// SecureJoin. When `resolved` is given it receives the path within the root that the walk
// reached, links resolved (also on ENOENT, with the missing rest joined as it is).
int WalkInRoot(int root_fd, const char* path, int flags, mode_t mode, char* resolved,
               size_t resolved_size);

// `root` joined with `path` as runc's filepath-securejoin does: every link on the way resolved
// within `root`, ".." stopping at it; components that do not exist yet are kept as they are.
// For plans that must name paths (FreeBSD's nmount targets); a root that does not exist yet is
// joined lexically.
absl::StatusOr<std::string> SecureJoin(const std::string& root, const std::string& path);

// "/proc/self/fd/<fd>" (FreeBSD: "/dev/fd/<fd>") into `buf`, the name the kernel resolves to that
// descriptor's file.
struct FdPathBuffer {
  char text[32];
};
const char* FdPath(int fd, FdPathBuffer& buf);

// A regular file of the image read whole, for the daemon: resolved within `rootfs`, opened
// non-blocking, refused when it is not a regular file (a FIFO, a device, a directory) or larger
// than `max_bytes`. NotFound when it does not exist.
absl::StatusOr<std::string> ReadImageFile(const std::string& rootfs, const std::string& path,
                                          size_t max_bytes);

}  // namespace stockade
