#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/rootfs_path.h"
#include "common/unique_fd.h"

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

namespace {

// One level of the walk: the directory's descriptor and where its name ends in `resolved`.
struct Level {
  int fd;
  size_t end;
};
constexpr int kMaxDepth = 256;

}  // namespace

int WalkInRoot(int root_fd, const char* path, int flags, mode_t mode, char* resolved,
               size_t resolved_size) {
  // The path still to walk; a symlink's target is put in front of what follows it.
  char pending[PATH_MAX];
  if (!CopyPath(path, pending)) return -1;
  Level stack[kMaxDepth];
  int depth = 0;
  stack[0] = {::openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), 0};
  if (stack[0].fd < 0) return -1;
  size_t length = 0;  // of `resolved`
  if (resolved != nullptr && resolved_size > 0) resolved[0] = '\0';
  int links = 0;
  auto close_all = [&] {
    for (int i = 0; i <= depth; ++i) CloseKeepingErrno(stack[i].fd);
  };
  auto append = [&](const char* name, size_t n) -> bool {
    if (resolved == nullptr) return true;
    if (length + 1 + n >= resolved_size) {
      errno = ENAMETOOLONG;
      return false;
    }
    resolved[length++] = '/';
    std::memcpy(resolved + length, name, n);
    length += n;
    resolved[length] = '\0';
    return true;
  };
  size_t at = 0;
  while (true) {
    while (pending[at] == '/') ++at;
    if (pending[at] == '\0') {
      // The path named a directory already walked (or the root): open it as asked.
      const int fd = ::openat(stack[depth].fd, ".", flags | O_CLOEXEC, mode);
      close_all();
      return fd;
    }
    const char* part = pending + at;
    const char* slash = std::strchr(part, '/');
    const size_t n = slash != nullptr ? static_cast<size_t>(slash - part) : std::strlen(part);
    at += n;
    bool last = true;
    for (size_t i = at; pending[i] != '\0'; ++i) last &= pending[i] == '/';
    char name[NAME_MAX + 1];
    if (n > NAME_MAX) {
      close_all();
      errno = ENAMETOOLONG;
      return -1;
    }
    std::memcpy(name, part, n);
    name[n] = '\0';
    if (std::strcmp(name, ".") == 0) continue;
    if (std::strcmp(name, "..") == 0) {  // stops at the root, as in a chroot
      if (depth > 0) {
        ::close(stack[depth].fd);
        --depth;
        length = stack[depth].end;
        if (resolved != nullptr) resolved[length] = '\0';
      }
      continue;
    }
    struct stat st;
    if (::fstatat(stack[depth].fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
      if (++links > 40) {
        close_all();
        errno = ELOOP;
        return -1;
      }
      char target[PATH_MAX];
      const ssize_t t = ::readlinkat(stack[depth].fd, name, target, sizeof(target) - 1);
      if (t < 0) {
        close_all();
        return -1;
      }
      target[t] = '\0';
      char rest[PATH_MAX];
      std::strcpy(rest, pending + at);
      const int w = std::snprintf(pending, sizeof(pending), "%s%s%s", target,
                                  rest[0] == '\0' ? "" : "/", rest);
      if (w < 0 || static_cast<size_t>(w) >= sizeof(pending)) {
        close_all();
        errno = ENAMETOOLONG;
        return -1;
      }
      at = 0;
      if (target[0] == '/') {  // absolute: from the root
        while (depth > 0) ::close(stack[depth--].fd);
        length = 0;
        if (resolved != nullptr) resolved[0] = '\0';
      }
      continue;
    }
    if (!append(name, n)) {
      close_all();
      return -1;
    }
    if (last) {
      const int fd = ::openat(stack[depth].fd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
      close_all();
      return fd;
    }
    if (depth + 1 >= kMaxDepth) {
      close_all();
      errno = ENAMETOOLONG;
      return -1;
    }
    const int next =
        ::openat(stack[depth].fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0) {
      if (errno == ENOENT && resolved != nullptr) {
        // Missing from here on: the rest is joined as it is (nothing below can be a link).
        // Lexically: "" and "." dropped, ".." takes back one component (never above the root).
        const char* rest = pending + at;
        while (*rest != '\0') {
          while (*rest == '/') ++rest;
          const char* end = std::strchr(rest, '/');
          const size_t k = end != nullptr ? static_cast<size_t>(end - rest) : std::strlen(rest);
          if (k == 2 && rest[0] == '.' && rest[1] == '.') {
            while (length > 0 && resolved[length - 1] != '/') --length;
            if (length > 0) --length;
            resolved[length] = '\0';
          } else if (k > 0 && !(k == 1 && rest[0] == '.') && !append(rest, k)) {
            close_all();
            return -1;
          }
          rest += k;
        }
        close_all();
        errno = ENOENT;
        return -1;
      }
      close_all();
      return -1;
    }
    stack[++depth] = {next, length};
  }
}

absl::StatusOr<std::string> SecureJoin(const std::string& root, const std::string& path) {
  UniqueFd root_fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  std::string out(PATH_MAX, '\0');
  if (!root_fd) {
    if (errno != ENOENT) return ErrnoError(errno, absl::StrCat("open ", root));
    // No root yet (a plan made ahead): nothing can be a link; a lexical join with ".." clamped.
    std::string joined;
    std::vector<std::string> parts;
    for (size_t i = 0; i <= path.size();) {
      size_t j = path.find('/', i);
      if (j == std::string::npos) j = path.size();
      const std::string part = path.substr(i, j - i);
      if (part == "..") {
        if (!parts.empty()) parts.pop_back();
      } else if (!part.empty() && part != ".") {
        parts.push_back(part);
      }
      i = j + 1;
    }
    for (const std::string& p : parts) absl::StrAppend(&joined, "/", p);
    return absl::StrCat(root, joined);
  }
  const int fd =
      WalkInRoot(root_fd.get(), path.c_str(), O_RDONLY | O_NONBLOCK, 0, out.data(), out.size());
  if (fd >= 0) ::close(fd);
  if (fd < 0 && errno != ENOENT) {
    return ErrnoError(errno, absl::StrCat("resolve ", path, " in ", root));
  }
  out.resize(std::strlen(out.c_str()));
  return absl::StrCat(root, out);
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
