// Copy snapshots: every layer copied, base first, into one private tree, applying the
// whiteouts in the form the unpacker wrote them (runtime/snapshot/layer_copy.h).
#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "runtime/snapshot/layer_copy.h"
#include "runtime/snapshot/snapshot_dirs.h"
#include "runtime/snapshot/snapshotter.h"

namespace stockade {
namespace {

class CopySnapshotter : public Snapshotter {
 public:
  CopySnapshotter(std::string root, WhiteoutMode layer_form)
      : root_(std::move(root)), layer_form_(layer_form) {}
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
      if (absl::Status s = ApplyLayerDir(layer, rootfs, layer_form_); !s.ok()) {
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
  const std::string root_;
  const WhiteoutMode layer_form_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Snapshotter>> NewCopySnapshotter(const std::string& root,
                                                                WhiteoutMode layer_form) {
  return std::make_unique<CopySnapshotter>(root, layer_form);
}

}  // namespace stockade
