#include "node/node_runtime.h"

#include <sys/stat.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/state_dir_lock.h"
#include "imagestore/image_store.h"
#include "imagestore/process_image_fetcher.h"
#include "runtime/cni_pod_network.h"
#include "runtime/platform_backend.h"
#include "runtime/runtime_core.h"
#include "runtime/runtime_settings.h"
#include "runtime/store_image_source.h"
#include "state/rocksdb_state_store.h"

namespace stockade {
namespace {

absl::Status MakePrivateDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return ErrnoError(ec.value(), absl::StrCat("create directory ", dir));
  if (::chmod(dir.c_str(), 0711) != 0) return ErrnoError(errno, absl::StrCat("chmod ", dir));
  return absl::OkStatus();
}

}  // namespace

// In the order they are made; destroyed the other way round (the core first).
struct NodeRuntime::Parts {
  std::optional<StateDirLock> lock;
  std::unique_ptr<StateStore> store;
  std::unique_ptr<RuntimeSettings> settings;
  std::unique_ptr<ImageStore> images;
  std::optional<PlatformBackend> platform;
  std::unique_ptr<ContainerImageSource> image_source;
  std::unique_ptr<PodNetwork> network;
  std::unique_ptr<RuntimeCore> core;
};

absl::StatusOr<std::unique_ptr<NodeRuntime>> NodeRuntime::Open(const Config& config,
                                                               const std::string& version,
                                                               const std::string& shim_path) {
  auto p = std::make_unique<Parts>();
  for (const std::string& dir : {config.state_dir, config.run_dir}) {
    if (absl::Status s = MakePrivateDir(dir); !s.ok()) return s;
  }
  absl::StatusOr<StateDirLock> lock = StateDirLock::Acquire(config.state_dir);
  if (!lock.ok()) return lock.status();
  p->lock = *std::move(lock);

  const std::string db_dir = absl::StrCat(config.state_dir, "/db");
  absl::StatusOr<std::unique_ptr<StateStore>> store = OpenRocksDbStateStore(db_dir);
  if (!store.ok()) return store.status();
  p->store = *std::move(store);
  if (absl::Status s = CheckOrInitSchema(*p->store, db_dir, version); !s.ok()) return s;
  absl::StatusOr<std::unique_ptr<RuntimeSettings>> settings = RuntimeSettings::Load(*p->store);
  if (!settings.ok()) return settings.status();
  p->settings = *std::move(settings);

  absl::StatusOr<PlatformBackend> platform = OpenPlatformBackend(
      {config.state_dir, config.run_dir, shim_path, config.storage.zfs_dataset});
  if (!platform.ok()) return platform.status();
  p->platform = *std::move(platform);

  ImageStoreOptions image_options;
  image_options.root = absl::StrCat(config.state_dir, "/images");
  image_options.pinned_images = config.images.pinned;
  StateStore& state = *p->store;
  image_options.layer_dirs_in_use = [&state] { return LayerDirsInUse(state); };
  // Pulls run in stockade-puller, installed with the shim: no registry client, TLS stack or
  // layer unpacker in this process.
  PullerConfig puller;
  puller.root = image_options.root;
  puller.max_concurrent_downloads = config.images.max_concurrent_downloads;
  puller.unpack.whiteouts = PlatformLayerWhiteouts();
  puller.registries = config.images.registries;
  puller.registry_config_dir = config.images.registry_config_dir;
  puller.progress_timeout = config.images.pull_progress_timeout;
  const std::string puller_path = absl::StrCat(p->platform->helper_dir, "/stockade-puller");
  absl::StatusOr<std::unique_ptr<ProcessImageFetcher>> fetcher =
      ProcessImageFetcher::Create(puller_path, puller);
  if (!fetcher.ok()) return fetcher.status();
  absl::StatusOr<std::unique_ptr<ImageStore>> images =
      ImageStore::Open(image_options, *p->store, *std::move(fetcher));
  if (!images.ok()) return images.status();
  p->images = *std::move(images);

  p->image_source = NewStoreImageSource(*p->images);
  p->network = NewCniPodNetwork({config.cni.conf_dir, config.cni.bin_dirs}, *p->settings);
  RuntimeCoreOptions core_options;
  core_options.run_dir = config.run_dir;
  core_options.netns_dir = p->platform->netns_dir;
  core_options.pod_network_handle = p->platform->pod_network_handle;
  core_options.node_oom_score_adj = p->platform->oom_score_adj;
  absl::StatusOr<std::unique_ptr<RuntimeCore>> core =
      RuntimeCore::Open({*p->store, *p->platform->jails, *p->platform->limiter,
                         *p->platform->snapshotter, *p->image_source, *p->network},
                        core_options);
  if (!core.ok()) return core.status();
  p->core = *std::move(core);
  return std::unique_ptr<NodeRuntime>(new NodeRuntime(std::move(p)));
}

NodeRuntime::NodeRuntime(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}
NodeRuntime::~NodeRuntime() = default;

StateStore& NodeRuntime::store() { return *parts_->store; }
RuntimeSettings& NodeRuntime::settings() { return *parts_->settings; }
ImageStore& NodeRuntime::images() { return *parts_->images; }
RuntimeCore& NodeRuntime::core() { return *parts_->core; }
const std::vector<NodeCondition>& NodeRuntime::conditions() const {
  return parts_->platform->conditions;
}

}  // namespace stockade
