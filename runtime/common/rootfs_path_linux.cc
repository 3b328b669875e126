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
#include "runtime/common/errors.h"
#include "runtime/common/rootfs_path.h"
#include "runtime/common/unique_fd.h"

namespace stockade {
namespace {

// Closes a descriptor without disturbing errno (for the error paths).
void CloseKeepingErrno(int fd) {
  const int saved = errno;
  if (fd >= 0) ::close(fd);
  errno = saved;
}

// Copies `path` into `buf`, NUL-terminated; false (ENAMETOOLONG) when it does not fit.
bool CopyPath(const char* path, char (&buf)[PATH_MAX]) {
  const size_t n = std::strlen(path);
  if (n >= sizeof(buf)) {
    errno = ENAMETOOLONG;
    return false;
  }
  std::memcpy(buf, path, n + 1);
  return true;
}

}  // namespace

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

namespace {

// Symlinks followed through dangling links before ELOOP, as the kernel's own limit.
constexpr int kMaxLinks = 40;

// `name` in directory `dir` is a dangling symlink: the path it leads to, followed by `rest`,
// written into `out` (a relative target is taken from `parent`, the path of `dir` in the root).
// False with errno on failure.
bool FollowDangling(int dir, const char* name, const char* parent, const char* rest,
                    char (&out)[PATH_MAX]) {
  char target[PATH_MAX];
  const ssize_t n = ::readlinkat(dir, name, target, sizeof(target) - 1);
  if (n < 0) return false;  // EINVAL: not a link after all
  target[n] = '\0';
  const char* sep = *rest == '/' || *rest == '\0' ? "" : "/";
  const int written = target[0] == '/'
                          ? std::snprintf(out, sizeof(out), "%s%s%s", target, sep, rest)
                          : std::snprintf(out, sizeof(out), "%s/%s%s%s", parent, target, sep, rest);
  if (written < 0 || static_cast<size_t>(written) >= sizeof(out)) {
    errno = ENAMETOOLONG;
    return false;
  }
  return true;
}

int MakeDirectories(int root_fd, const char* path, mode_t mode, int links) {
  char prefix[PATH_MAX];
  size_t length = 0;
  prefix[0] = '\0';
  int dir = OpenInRoot(root_fd, "/", O_PATH | O_DIRECTORY);
  if (dir < 0) return -1;
  const char* p = path;
  while (true) {
    while (*p == '/') ++p;
    if (*p == '\0') return dir;
    const char* end = std::strchr(p, '/');
    const size_t n = end != nullptr ? static_cast<size_t>(end - p) : std::strlen(p);
    char name[NAME_MAX + 1];
    if (n > NAME_MAX || length + 1 + n >= sizeof(prefix)) {
      CloseKeepingErrno(dir);
      errno = ENAMETOOLONG;
      return -1;
    }
    std::memcpy(name, p, n);
    name[n] = '\0';
    const size_t parent_length = length;
    prefix[length++] = '/';
    std::memcpy(prefix + length, p, n);
    length += n;
    prefix[length] = '\0';
    int next = OpenInRoot(root_fd, prefix, O_PATH | O_DIRECTORY);
    if (next < 0 && errno == ENOENT) {
      // Made in the directory the prefix so far resolved to: a name without "/" cannot leave it.
      if (::mkdirat(dir, name, mode) == 0 || errno != EEXIST) {
        next = OpenInRoot(root_fd, prefix, O_PATH | O_DIRECTORY);
      } else {
        // It exists and does not resolve: a dangling link, followed as runc does, its target
        // made inside the root.
        if (links >= kMaxLinks) {
          CloseKeepingErrno(dir);
          errno = ELOOP;
          return -1;
        }
        char followed[PATH_MAX];
        prefix[parent_length] = '\0';
        const bool ok = FollowDangling(dir, name, prefix, p + n, followed);
        CloseKeepingErrno(dir);
        if (!ok) return -1;
        return MakeDirectories(root_fd, followed, mode, links + 1);
      }
    }
    CloseKeepingErrno(dir);
    if (next < 0) return -1;
    dir = next;
    p += n;
  }
}

int MountTarget(int root_fd, const char* path, bool directory, int links) {
  const int existing = OpenInRoot(root_fd, path, O_PATH);
  if (existing >= 0 || errno != ENOENT) return existing;
  if (directory) return MakeDirectories(root_fd, path, 0755, links);
  char parent[PATH_MAX];
  if (!CopyPath(path, parent)) return -1;
  size_t n = std::strlen(parent);
  while (n > 0 && parent[n - 1] == '/') parent[--n] = '\0';
  char* slash = std::strrchr(parent, '/');
  const char* base = slash != nullptr ? slash + 1 : parent;
  if (*base == '\0' || std::strcmp(base, ".") == 0 || std::strcmp(base, "..") == 0) {
    errno = EINVAL;  // a file mount needs a file name
    return -1;
  }
  char name[NAME_MAX + 1];
  if (std::strlen(base) > NAME_MAX) {
    errno = ENAMETOOLONG;
    return -1;
  }
  std::strcpy(name, base);
  if (slash != nullptr) {
    *slash = '\0';
  } else {
    parent[0] = '\0';
  }
  const int dir = MakeDirectories(root_fd, parent, 0755, links);
  if (dir < 0) return -1;
  const int made =
      ::openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
  if (made < 0) {
    if (errno != EEXIST || links >= kMaxLinks) {
      if (errno == EEXIST) errno = ELOOP;
      CloseKeepingErrno(dir);
      return -1;
    }
    // A dangling link in the way: the file is made where it leads, inside the root.
    char followed[PATH_MAX];
    const bool ok = FollowDangling(dir, name, parent, "", followed);
    CloseKeepingErrno(dir);
    if (!ok) return -1;
    return MountTarget(root_fd, followed, false, links + 1);
  }
  ::close(made);
  ::close(dir);
  return OpenInRoot(root_fd, path, O_PATH);
}

}  // namespace

int MakeDirectoriesInRoot(int root_fd, const char* path, mode_t mode) {
  return MakeDirectories(root_fd, path, mode, 0);
}

int MountTargetInRoot(int root_fd, const char* path, bool directory) {
  return MountTarget(root_fd, path, directory, 0);
}

const char* FdPath(int fd, FdPathBuffer& buf) {
  std::snprintf(buf.text, sizeof(buf.text), "/proc/self/fd/%d", fd);
  return buf.text;
}

absl::StatusOr<std::string> ReadImageFile(const std::string& rootfs, const std::string& path,
                                          size_t max_bytes) {
  UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return ErrnoError(errno, absl::StrCat("open the rootfs ", rootfs));
  // O_NONBLOCK: a FIFO planted at the path must not block the open (and is refused below).
  UniqueFd fd(OpenInRoot(root.get(), path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY));
  if (!fd) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return absl::NotFoundError(absl::StrCat("the image has no ", path));
    }
    return ErrnoError(errno, absl::StrCat("open the image's ", path));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoError(errno, absl::StrCat("stat ", path));
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the image's ", path, " is not a regular file (a FIFO, device or directory): not read"));
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    return absl::FailedPreconditionError(absl::StrCat("the image's ", path, " has ", st.st_size,
                                                      " bytes, more than the ", max_bytes,
                                                      " read: not read"));
  }
  std::string out;
  out.resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::read(fd.get(), out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(errno, absl::StrCat("read the image's ", path));
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  out.resize(done);
  return out;
}

}  // namespace stockade
