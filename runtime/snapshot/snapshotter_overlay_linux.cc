// overlayfs snapshots: lowerdir = the image's layer dirs (top first), a private upper and work
// dir per container. The layer dirs are never written.
#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/snapshot/snapshot_dirs.h"
#include "runtime/snapshot/snapshotter.h"
#include "common/errors.h"

namespace stockade {
namespace {

// The kernel takes mount options in one page.
constexpr size_t kMaxMountOptions = 4000;

class OverlaySnapshotter : public Snapshotter {
 public:
  explicit OverlaySnapshotter(std::string root) : root_(std::move(root)) {}
  std::string Name() const override { return "overlayfs"; }
  absl::StatusOr<DiskUsage> Usage(const std::string& key) const override {
    if (absl::Status s = ValidateSnapshotKey(key); !s.ok()) return s;
    return TreeUsage(absl::StrCat(root_, "/", key, "/upper"));
  }

  absl::StatusOr<std::string> Prepare(const std::string& key,
                                      const std::vector<std::string>& layers) override {
    if (layers.empty()) {
      return absl::InvalidArgumentError("an overlay snapshot needs at least one layer");
    }
    absl::StatusOr<std::string> dir = CreateSnapshotDir(root_, key);
    if (!dir.ok()) return dir.status();
    const std::string upper = *dir + "/upper", work = *dir + "/work", rootfs = *dir + "/rootfs";
    for (const std::string& d : {upper, work, rootfs}) {
      if (::mkdir(d.c_str(), 0755) != 0) {
        absl::Status s = ErrnoError(errno, absl::StrCat("create ", d));
        RemoveTreeQuietly(*dir);
        return s;
      }
    }
    const std::vector<std::string> top_first(layers.rbegin(), layers.rend());
    const std::string options = absl::StrCat("lowerdir=", absl::StrJoin(top_first, ":"),
                                             ",upperdir=", upper, ",workdir=", work);
    if (options.size() > kMaxMountOptions) {
      RemoveTreeQuietly(*dir);
      return absl::ResourceExhaustedError(absl::StrCat("image has too many layers (", layers.size(),
                                                       ") for one overlay mount's options"));
    }
    if (::mount("overlay", rootfs.c_str(), "overlay", 0, options.c_str()) != 0) {
      absl::Status s = ErrnoError(errno, absl::StrCat("mount overlay at ", rootfs));
      RemoveTreeQuietly(*dir);
      return s;
    }
    return rootfs;
  }

  absl::Status Remove(const std::string& key) override {
    if (absl::Status s = ValidateSnapshotKey(key); !s.ok()) return s;
    const std::string dir = absl::StrCat(root_, "/", key);
    const std::string rootfs = dir + "/rootfs";
    // Detach: a process still inside must not keep the snapshot alive forever.
    if (::umount2(rootfs.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
      return ErrnoError(errno, absl::StrCat("unmount ", rootfs));
    }
    RemoveTreeQuietly(dir);
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<std::string>> List() const override { return ListSnapshotKeys(root_); }

 private:
  std::string root_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Snapshotter>> NewOverlaySnapshotter(const std::string& root) {
  return std::make_unique<OverlaySnapshotter>(root);
}

}  // namespace stockade
