#include "runtime/freebsd/zfs_snapshotter.h"

#include <sys/stat.h>

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/errors.h"
#include "common/run_command.h"
#include "runtime/snapshot/layer_copy.h"
#include "runtime/snapshot/snapshot_dirs.h"

namespace stockade::freebsd {
namespace {

class ZfsSnapshotter : public Snapshotter {
 public:
  ZfsSnapshotter(ZfsSnapshotterOptions options, ZfsRunner run)
      : options_(std::move(options)), run_(std::move(run)) {}

  std::string Name() const override { return "zfs"; }

  absl::StatusOr<std::string> Prepare(const std::string& key,
                                      const std::vector<std::string>& layers) override {
    if (layers.empty()) {
      return absl::InvalidArgumentError("an image with no layers has no ZFS chain to clone");
    }
    absl::StatusOr<std::string> dir = CreateSnapshotDir(options_.root, key);
    if (!dir.ok()) return dir.status();
    const std::string rootfs = *dir + "/rootfs";
    auto fail = [&](const absl::Status& s) {
      RemoveTreeQuietly(*dir);
      return s;
    };
    if (::mkdir(rootfs.c_str(), 0755) != 0) {
      return fail(ErrnoError(errno, absl::StrCat("create ", rootfs)));
    }
    if (absl::Status s = EnsureChains(layers); !s.ok()) return fail(s);
    // A clone left by a crash between its creation and our record of it goes first.
    if (absl::Status s = Destroy(key); !s.ok()) return fail(s);
    if (absl::StatusOr<std::string> r =
            run_(PlanContainerClone(options_.dataset, layers, key, rootfs));
        !r.ok()) {
      return fail(r.status());
    }
    return rootfs;
  }

  absl::Status Remove(const std::string& key) override {
    if (absl::Status s = ValidateSnapshotKey(key); !s.ok()) return s;
    if (absl::Status s = Destroy(key); !s.ok()) return s;
    RemoveTreeQuietly(absl::StrCat(options_.root, "/", key));
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<std::string>> List() const override {
    return ListSnapshotKeys(options_.root);
  }

  absl::StatusOr<DiskUsage> Usage(const std::string& key) const override {
    if (absl::Status s = ValidateSnapshotKey(key); !s.ok()) return s;
    absl::StatusOr<std::string> out = run_(PlanUsageQuery(options_.dataset, key));
    if (!out.ok()) {
      if (IsMissingDatasetError(out.status())) {
        return absl::NotFoundError(absl::StrCat("no ZFS snapshot ", key));
      }
      return out.status();
    }
    DiskUsage usage;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(*out), &usage.bytes)) {
      return absl::InternalError(absl::StrCat("zfs get written said \"", *out, "\""));
    }
    // ZFS counts no inodes per clone: the snapshot's own count is not known without a walk of
    // the whole image, which kubelet's periodic stats must not pay for.
    return usage;
  }

 private:
  absl::Status Destroy(const std::string& key) {
    absl::StatusOr<std::string> r = run_(PlanContainerDestroy(options_.dataset, key));
    if (!r.ok() && !IsMissingDatasetError(r.status())) return r.status();
    return absl::OkStatus();
  }

  // Every chain of `layers`, base first, made where missing. One at a time across the node:
  // two images with a common base must not both build it.
  absl::Status EnsureChains(const std::vector<std::string>& layers) {
    absl::MutexLock lock(&chains_mu_);
    for (size_t count = 1; count <= layers.size(); ++count) {
      const std::string chain = LayerChainDataset(options_.dataset, layers, count);
      if (run_(PlanChainReadyQuery(chain)).ok()) continue;
      if (absl::StatusOr<std::string> r = run_(PlanChainDiscard(chain));
          !r.ok() && !IsMissingDatasetError(r.status())) {
        return r.status();
      }
      const std::string mountpoint =
          absl::StrCat(options_.build_root, "/", chain.substr(chain.rfind('/') + 1));
      if (absl::Status s = MakeDirs(mountpoint); !s.ok()) return s;
      if (absl::StatusOr<std::string> r =
              run_(PlanChainCreate(options_.dataset, layers, count, mountpoint));
          !r.ok()) {
        return r.status();
      }
      absl::Status s = ApplyLayerDir(layers[count - 1], mountpoint, options_.layer_form);
      if (s.ok()) {
        for (const ZfsCommand& c : PlanChainSeal(chain)) {
          if (absl::StatusOr<std::string> r = run_(c); !r.ok()) {
            s = r.status();
            break;
          }
        }
      }
      if (!s.ok()) {
        run_(PlanChainDiscard(chain)).IgnoreError();
        RemoveTreeQuietly(mountpoint);
        return absl::Status(s.code(), absl::StrCat("build ZFS layer chain ", chain, " from ",
                                                   layers[count - 1], ": ", s.message()));
      }
      RemoveTreeQuietly(mountpoint);  // the empty mountpoint, now unmounted
    }
    return absl::OkStatus();
  }

  static absl::Status MakeDirs(const std::string& path) {
    std::string at;
    for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
      absl::StrAppend(&at, "/", part);
      if (::mkdir(at.c_str(), 0700) != 0 && errno != EEXIST) {
        return ErrnoError(errno, absl::StrCat("create ", at));
      }
    }
    return absl::OkStatus();
  }

  const ZfsSnapshotterOptions options_;
  const ZfsRunner run_;
  absl::Mutex chains_mu_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Snapshotter>> NewZfsSnapshotter(const ZfsSnapshotterOptions& options,
                                                               ZfsRunner run) {
  if (absl::Status s = CheckDatasetName(options.dataset); !s.ok()) return s;
  if (!run({"zfs", "list", "-H", "-o", "name", options.dataset}).ok()) {
    if (absl::StatusOr<std::string> r = run(PlanDatasetEnsure(options.dataset)); !r.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the ZFS dataset ", options.dataset,
          " (storage.zfs_dataset) is missing and cannot be "
          "made: ",
          r.status().message(), "; create it (zfs create -o mountpoint=none ", options.dataset,
          ") or unset storage.zfs_dataset to use the copy snapshotter"));
    }
  }
  return std::make_unique<ZfsSnapshotter>(options, std::move(run));
}

ZfsRunner SystemZfsRunner() {
  return [](const ZfsCommand& argv) { return RunCommandOk(argv); };
}

}  // namespace stockade::freebsd
