#include "runtime/snapshot/layer_copy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <map>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/unique_fd.h"
#include "common/xattr.h"
#include "runtime/snapshot/snapshot_dirs.h"

namespace stockade {
namespace {

constexpr absl::string_view kOverlayXattrs = "trusted.overlay.";

absl::Status CopyFileData(const std::string& from, const std::string& to, mode_t mode) {
  UniqueFd in(::open(from.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!in) return ErrnoError(errno, absl::StrCat("open ", from));
  UniqueFd out(
      ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 07777));
  if (!out) return ErrnoError(errno, absl::StrCat("create ", to));
  char buf[1 << 16];
  while (true) {
    ssize_t n = ::read(in.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(errno, absl::StrCat("read ", from));
    if (n == 0) return absl::OkStatus();
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::write(out.get(), buf + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return ErrnoError(errno, absl::StrCat("write ", to));
      done += w;
    }
  }
}

// Best effort, as cp -a: a filesystem without some namespace loses only those attributes.
void CopyXattrs(const std::string& from, const std::string& to) {
  absl::StatusOr<std::vector<std::string>> names = ListLinkXattrs(from);
  if (!names.ok()) return;
  for (const std::string& name : *names) {
    if (absl::StartsWith(name, kOverlayXattrs)) continue;
    absl::StatusOr<std::string> value = GetLinkXattr(from, name);
    if (value.ok()) SetLinkXattr(to, name, *value).IgnoreError();
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
  explicit LayerCopier(WhiteoutMode form) : form_(form) {}

  absl::Status CopyTree(const std::string& from, const std::string& to) {
    std::vector<std::string> names;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(from, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      names.push_back(it->path().filename().string());
    }
    if (ec) return ErrnoError(ec.value(), absl::StrCat("read ", from));
    if (form_ == WhiteoutMode::kMarkers) {
      // The markers delete from the layers below, so they go first; the layer's own entries of
      // the same directory are copied after them.
      for (const std::string& name : names) {
        if (name == kOpaqueWhiteout) {
          ClearDirectory(to);
        } else if (absl::StartsWith(name, kWhiteoutPrefix)) {
          const std::string hidden = name.substr(kWhiteoutPrefix.size());
          if (!hidden.empty() && hidden != "." && hidden != "..") {
            RemoveTreeQuietly(absl::StrCat(to, "/", hidden));
          }
        }
      }
    }
    for (const std::string& name : names) {
      if (form_ == WhiteoutMode::kMarkers && absl::StartsWith(name, kWhiteoutPrefix)) continue;
      if (absl::Status s = CopyEntry(absl::StrCat(from, "/", name), absl::StrCat(to, "/", name));
          !s.ok()) {
        return s;
      }
    }
    return absl::OkStatus();
  }

 private:
  static void ClearDirectory(const std::string& dir) {
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(dir, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      RemoveTreeQuietly(it->path().string());
    }
  }

  bool IsOverlayWhiteout(const struct stat& st) const {
    return form_ == WhiteoutMode::kOverlay && S_ISCHR(st.st_mode) && st.st_rdev == 0;
  }
  bool IsOverlayOpaque(const std::string& dir) const {
    if (form_ != WhiteoutMode::kOverlay) return false;
    absl::StatusOr<std::string> v = GetLinkXattr(dir, "trusted.overlay.opaque");
    return v.ok() && *v == "y";
  }

  absl::Status CopyEntry(const std::string& from, const std::string& to) {
    struct stat st;
    if (::lstat(from.c_str(), &st) != 0) return ErrnoError(errno, absl::StrCat("stat ", from));
    struct stat existing;
    const bool exists = ::lstat(to.c_str(), &existing) == 0;
    if (IsOverlayWhiteout(st)) {
      RemoveTreeQuietly(to);
      return absl::OkStatus();
    }
    if (S_ISDIR(st.st_mode)) {
      if (exists && (!S_ISDIR(existing.st_mode) || IsOverlayOpaque(from))) RemoveTreeQuietly(to);
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
      // Keep hardlinks within the layer linked, as in the image.
      auto [it, first] = links_.try_emplace({st.st_dev, st.st_ino}, to);
      if (!first && ::link(it->second.c_str(), to.c_str()) == 0) return absl::OkStatus();
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

  const WhiteoutMode form_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
};

}  // namespace

absl::Status ApplyLayerDir(const std::string& layer, const std::string& tree, WhiteoutMode form) {
  if (form == WhiteoutMode::kApply) {
    return absl::InvalidArgumentError(
        "a layer directory with its whiteouts applied cannot be stacked on another");
  }
  LayerCopier copier(form);  // hardlinks never span layers
  return copier.CopyTree(layer, tree);
}

}  // namespace stockade
