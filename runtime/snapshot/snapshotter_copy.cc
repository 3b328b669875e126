// Copy snapshots: every layer copied, base first, into one private tree, applying the
// overlay-format whiteouts the unpacker wrote (char device 0/0 deletes, opaque dirs clear).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "runtime/snapshot/snapshot_dirs.h"
#include "runtime/snapshot/snapshotter.h"
#include "common/errors.h"
#include "common/unique_fd.h"

namespace stockade {
namespace {

bool IsWhiteout(const struct stat& st) {
  return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

bool IsOpaque(const std::string& dir) {
  char v = 0;
  return ::lgetxattr(dir.c_str(), "trusted.overlay.opaque", &v, 1) == 1 && v == 'y';
}

absl::Status CopyFileData(const std::string& from, const std::string& to, mode_t mode) {
  UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) return ErrnoError(errno, absl::StrCat("open ", from));
  UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 07777));
  if (!out) return ErrnoError(errno, absl::StrCat("create ", to));
  char buf[1 << 16];
  while (true) {
    ssize_t n = ::read(in.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(errno, absl::StrCat("read ", from));
    if (n == 0) return absl::OkStatus();
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::write(out.get(), buf + done, static_cast<size_t>(n - done));
      if (w < 0) return ErrnoError(errno, absl::StrCat("write ", to));
      done += w;
    }
  }
}

void CopyXattrs(const std::string& from, const std::string& to) {
  char names[4096];
  ssize_t len = ::llistxattr(from.c_str(), names, sizeof(names));
  for (ssize_t i = 0; i < len; i += static_cast<ssize_t>(strlen(names + i)) + 1) {
    const char* name = names + i;
    if (absl::StartsWith(name, "trusted.overlay.")) continue;
    char value[4096];
    ssize_t vlen = ::lgetxattr(from.c_str(), name, value, sizeof(value));
    if (vlen >= 0) ::lsetxattr(to.c_str(), name, value, static_cast<size_t>(vlen), 0);
  }
}

void CopyMetadata(const std::string& to, const struct stat& st) {
  ::lchown(to.c_str(), st.st_uid, st.st_gid);
  if (!S_ISLNK(st.st_mode)) ::chmod(to.c_str(), st.st_mode & 07777);
  const timespec times[2] = {st.st_atim, st.st_mtim};
  ::utimensat(AT_FDCWD, to.c_str(), times, AT_SYMLINK_NOFOLLOW);
}

class LayerCopier {
 public:
  absl::Status CopyTree(const std::string& from, const std::string& to) {
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(from, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      if (absl::Status s =
              CopyEntry(it->path().string(), to + "/" + it->path().filename().string());
          !s.ok()) {
        return s;
      }
    }
    if (ec) return ErrnoError(ec.value(), absl::StrCat("read ", from));
    return absl::OkStatus();
  }

 private:
  absl::Status CopyEntry(const std::string& from, const std::string& to) {
    struct stat st;
    if (::lstat(from.c_str(), &st) != 0) return ErrnoError(errno, absl::StrCat("stat ", from));
    struct stat existing;
    const bool exists = ::lstat(to.c_str(), &existing) == 0;
    if (IsWhiteout(st)) {
      RemoveTreeQuietly(to);
      return absl::OkStatus();
    }
    if (S_ISDIR(st.st_mode)) {
      if (exists && (!S_ISDIR(existing.st_mode) || IsOpaque(from))) RemoveTreeQuietly(to);
      if (::mkdir(to.c_str(), 0700) != 0 && errno != EEXIST) {
        return ErrnoError(errno, absl::StrCat("mkdir ", to));
      }
      if (absl::Status s = CopyTree(from, to); !s.ok()) return s;
      CopyXattrs(from, to);
      CopyMetadata(to, st);
      return absl::OkStatus();
    }
    if (exists) RemoveTreeQuietly(to);
    if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
      // Keep hardlinks within the snapshot linked, as in the image.
      auto [it, first] = links_.try_emplace({st.st_dev, st.st_ino}, to);
      if (!first) {
        if (::link(it->second.c_str(), to.c_str()) == 0) return absl::OkStatus();
      }
    }
    if (S_ISREG(st.st_mode)) {
      if (absl::Status s = CopyFileData(from, to, st.st_mode); !s.ok()) return s;
    } else if (S_ISLNK(st.st_mode)) {
      std::error_code ec;
      const auto target = std::filesystem::read_symlink(from, ec);
      if (ec || ::symlink(target.c_str(), to.c_str()) != 0) {
        return ErrnoError(ec ? ec.value() : errno, absl::StrCat("symlink ", to));
      }
    } else if (::mknod(to.c_str(), st.st_mode, st.st_rdev) != 0) {
      return ErrnoError(errno, absl::StrCat("mknod ", to));
    }
    CopyXattrs(from, to);
    CopyMetadata(to, st);
    return absl::OkStatus();
  }

  std::map<std::pair<dev_t, ino_t>, std::string> links_;
};

class CopySnapshotter : public Snapshotter {
 public:
  explicit CopySnapshotter(std::string root) : root_(std::move(root)) {}
  std::string Name() const override { return "copy"; }
  absl::StatusOr<DiskUsage> Usage(const std::string& key) const override {
    if (absl::Status s = ValidateSnapshotKey(key); !s.ok()) return s;
    return TreeUsage(absl::StrCat(root_, "/", key, "/rootfs"));
  }

  absl::StatusOr<std::string> Prepare(const std::string& key,
                                      const std::vector<std::string>& layers) override {
    absl::StatusOr<std::string> dir = CreateSnapshotDir(root_, key);
    if (!dir.ok()) return dir.status();
    const std::string rootfs = *dir + "/rootfs";
    if (::mkdir(rootfs.c_str(), 0755) != 0) {
      absl::Status s = ErrnoError(errno, absl::StrCat("create ", rootfs));
      RemoveTreeQuietly(*dir);
      return s;
    }
    for (const std::string& layer : layers) {
      LayerCopier copier;  // hardlinks never span layers
      if (absl::Status s = copier.CopyTree(layer, rootfs); !s.ok()) {
        RemoveTreeQuietly(*dir);
        return absl::Status(s.code(), absl::StrCat("copy layer ", layer, ": ", s.message()));
      }
    }
    return rootfs;
  }

  absl::Status Remove(const std::string& key) override {
    if (absl::Status s = ValidateSnapshotKey(key); !s.ok()) return s;
    RemoveTreeQuietly(absl::StrCat(root_, "/", key));
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<std::string>> List() const override { return ListSnapshotKeys(root_); }

 private:
  std::string root_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Snapshotter>> NewCopySnapshotter(const std::string& root) {
  return std::make_unique<CopySnapshotter>(root);
}

}  // namespace stockade
