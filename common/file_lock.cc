#include "common/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "common/errors.h"

namespace stockade {

absl::StatusOr<FileLock> FileLock::Acquire(const std::string& path) {
  while (true) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) return ErrnoError(errno, absl::StrCat("open lock file ", path));
    while (::flock(fd.get(), LOCK_EX) != 0) {
      if (errno != EINTR) return ErrnoError(errno, absl::StrCat("lock ", path));
    }
    // The holder before us removes the file when it lets go: ours is the lock only if the
    // path still names the file we locked.
    struct stat locked, named;
    if (::fstat(fd.get(), &locked) != 0) return ErrnoError(errno, absl::StrCat("fstat ", path));
    if (::stat(path.c_str(), &named) == 0 && named.st_dev == locked.st_dev &&
        named.st_ino == locked.st_ino) {
      return FileLock(path, std::move(fd));
    }
  }
}

void FileLock::RemoveIfFree(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
  if (!fd || ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) return;
  struct stat locked, named;
  if (::fstat(fd.get(), &locked) == 0 && ::stat(path.c_str(), &named) == 0 &&
      named.st_dev == locked.st_dev && named.st_ino == locked.st_ino) {
    ::unlink(path.c_str());
  }
}

FileLock::~FileLock() {
  if (!fd_) return;  // moved from
  ::unlink(path_.c_str());
}

}  // namespace stockade
