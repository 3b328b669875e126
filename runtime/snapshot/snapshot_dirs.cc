#include "runtime/snapshot/snapshot_dirs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"

namespace stockade {

absl::Status ValidateSnapshotKey(const std::string& key) {
  const bool ok = !key.empty() && key.size() <= 128 && key != "." && key != ".." &&
                  std::all_of(key.begin(), key.end(), [](char c) {
                    return absl::ascii_isalnum(c) || c == '_' || c == '.' || c == '-';
                  });
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("snapshot key \"", key, "\" must be 1-128 of [A-Za-z0-9_.-]"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ListSnapshotKeys(const std::string& root) {
  std::vector<std::string> keys;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(root, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec)) keys.push_back(it->path().filename().string());
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return ErrnoError(ec.value(), absl::StrCat("list ", root));
  }
  return keys;
}

absl::StatusOr<std::string> CreateSnapshotDir(const std::string& root, const std::string& key) {
  if (absl::Status s = ValidateSnapshotKey(key); !s.ok()) return s;
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec) return ErrnoError(ec.value(), absl::StrCat("create ", root));
  const std::string dir = absl::StrCat(root, "/", key);
  if (::mkdir(dir.c_str(), 0711) != 0) {
    if (errno == EEXIST) {
      return absl::AlreadyExistsError(absl::StrCat("snapshot ", key, " already exists"));
    }
    return ErrnoError(errno, absl::StrCat("create ", dir));
  }
  return dir;
}

absl::StatusOr<DiskUsage> TreeUsage(const std::string& path) {
  // Through descriptors only: each directory is opened from its parent's with O_NOFOLLOW, so a
  // container that swaps a directory for a link while this runs cannot send the walk anywhere.
  const int top = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (top < 0) return absl::NotFoundError(absl::StrCat(path, ": ", std::strerror(errno)));
  struct stat root;
  if (::fstat(top, &root) != 0) {
    ::close(top);
    return ErrnoError(errno, absl::StrCat("stat ", path));
  }
  DiskUsage usage{static_cast<uint64_t>(root.st_blocks) * 512, 1};
  std::set<std::pair<dev_t, ino_t>> seen;  // hard links count once, as du does
  std::vector<int> dirs = {top};
  while (!dirs.empty()) {
    DIR* d = ::fdopendir(dirs.back());  // owns the descriptor from here on
    dirs.pop_back();
    if (d == nullptr) continue;
    while (dirent* e = ::readdir(d)) {
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      struct stat st;
      if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      if (st.st_dev != root.st_dev) continue;
      if (st.st_nlink > 1 && !S_ISDIR(st.st_mode) && !seen.insert({st.st_dev, st.st_ino}).second) {
        continue;
      }
      usage.inodes += 1;
      usage.bytes += static_cast<uint64_t>(st.st_blocks) * 512;
      if (!S_ISDIR(st.st_mode)) continue;
      const int child =
          ::openat(::dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (child >= 0) dirs.push_back(child);  // else replaced meanwhile: not followed
    }
    ::closedir(d);
  }
  return usage;
}

}  // namespace stockade
