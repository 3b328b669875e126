#include "imagestore/local_image_fetcher.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "imagestore/layer_fetch.h"

namespace stockade {
namespace {

// Writes a fetched blob straight into the content store (configs, foreign blobs).
class ContentBlobSink : public BlobSink {
 public:
  ContentBlobSink(ContentStore& content, const Descriptor& blob) : content_(content), blob_(blob) {}
  absl::Status Begin() override {
    absl::StatusOr<std::unique_ptr<ContentStore::Writer>> w =
        content_.NewWriter(blob_.digest, blob_.size);
    if (!w.ok()) return w.status();
    writer_ = *std::move(w);
    return absl::OkStatus();
  }
  absl::Status Write(const char* data, size_t size) override { return writer_->Write(data, size); }
  absl::Status Commit() { return writer_->Commit(); }

 private:
  ContentStore& content_;
  const Descriptor& blob_;
  std::unique_ptr<ContentStore::Writer> writer_;
};

}  // namespace

struct LocalImageFetcher::Resolved {
  FetchedImage fetched;
  ImageManifest manifest;
};

absl::StatusOr<LocalImageFetcher::Resolved> LocalImageFetcher::Resolve(
    const ImageReference& ref, const RegistryCredentials& creds) {
  const std::string wanted = ref.digest.empty() ? ref.tag : ref.digest;
  absl::StatusOr<FetchedManifest> top = registry_->FetchManifest(ref, wanted, creds);
  if (!top.ok()) return top.status();
  absl::StatusOr<ManifestKind> kind = ClassifyManifest(top->content_type, top->body);
  if (!kind.ok()) return kind.status();
  Resolved out;
  out.fetched.top_digest = top->digest;
  if (absl::Status s = StoreBlob(top->digest, top->body); !s.ok()) return s;
  out.fetched.manifest_blobs.push_back(top->digest);
  FetchedManifest image_manifest = *std::move(top);
  if (*kind == ManifestKind::kIndex) {
    absl::StatusOr<ImageIndex> index = ParseImageIndex(image_manifest.body);
    if (!index.ok()) return index.status();
    absl::StatusOr<Descriptor> chosen = SelectPlatform(*index, options_.platforms);
    if (!chosen.ok()) return chosen.status();
    absl::StatusOr<FetchedManifest> child =
        registry_->FetchManifest(ref, chosen->digest.String(), creds);
    if (!child.ok()) return child.status();
    absl::StatusOr<ManifestKind> child_kind = ClassifyManifest(child->content_type, child->body);
    if (!child_kind.ok()) return child_kind.status();
    if (*child_kind != ManifestKind::kImage) {
      return absl::InvalidArgumentError("an image index points at another index; not supported");
    }
    if (absl::Status s = StoreBlob(child->digest, child->body); !s.ok()) return s;
    out.fetched.manifest_blobs.push_back(child->digest);
    image_manifest = *std::move(child);
  }
  absl::StatusOr<ImageManifest> manifest = ParseImageManifest(image_manifest.body);
  if (!manifest.ok()) return manifest.status();
  out.manifest = *std::move(manifest);
  out.fetched.manifest_digest = image_manifest.digest;
  return out;
}

absl::Status LocalImageFetcher::StoreBlob(const Digest& digest, const std::string& bytes) {
  if (content_.Has(digest)) return absl::OkStatus();
  absl::StatusOr<std::unique_ptr<ContentStore::Writer>> w =
      content_.NewWriter(digest, static_cast<int64_t>(bytes.size()));
  if (!w.ok()) return w.status();
  if (absl::Status s = (*w)->Write(bytes.data(), bytes.size()); !s.ok()) return s;
  return (*w)->Commit();
}

absl::Status LocalImageFetcher::EnsureBlob(const ImageReference& ref, const Descriptor& blob,
                                           const RegistryCredentials& creds) {
  if (content_.Has(blob.digest)) return absl::OkStatus();
  // One transfer of a blob at a time, across pullers and this puller's threads alike.
  absl::StatusOr<FileLock> lock = content_.LockTransfer("blob", blob.digest);
  if (!lock.ok()) return lock.status();
  if (content_.Has(blob.digest)) return absl::OkStatus();  // fetched while we waited
  ContentBlobSink sink(content_, blob);
  if (absl::Status s = registry_->FetchBlob(ref, blob, creds, sink); !s.ok()) return s;
  return sink.Commit();
}

absl::Status LocalImageFetcher::EnsureLayer(const ImageReference& ref, const Descriptor& blob,
                                            const Digest& diff_id,
                                            const RegistryCredentials& creds) {
  if (layers_.Has(diff_id) && content_.Has(blob.digest)) return absl::OkStatus();
  // Another puller (another image with this layer), or another thread of this one (a layer
  // listed twice), may be fetching it: flock locks of separate opens exclude each other.
  absl::StatusOr<FileLock> lock = content_.LockTransfer("layer", diff_id);
  if (!lock.ok()) return lock.status();
  const bool have_layer = layers_.Has(diff_id);
  const bool have_blob = content_.Has(blob.digest);
  if (have_layer && have_blob) return absl::OkStatus();
  if (have_layer) return EnsureBlob(ref, blob, creds);
  if (have_blob) return UnpackLayerFromContent(layers_, content_, blob, diff_id, options_.unpack);
  return FetchAndUnpackLayer(layers_, *registry_, ref, creds, content_, blob, diff_id,
                             options_.unpack);
}

absl::Status LocalImageFetcher::EnsureLayers(const ImageReference& ref,
                                             const ImageManifest& manifest,
                                             const ImageConfig& config,
                                             const RegistryCredentials& creds) {
  const size_t count = manifest.layers.size();
  const size_t workers =
      std::min(count, static_cast<size_t>(std::max(1, options_.max_concurrent_downloads)));
  std::atomic<size_t> next{0};
  absl::Mutex error_mu;
  absl::Status first_error;
  auto work = [&] {
    for (size_t i = next++; i < count; i = next++) {
      absl::Status s = EnsureLayer(ref, manifest.layers[i], config.diff_ids[i], creds);
      if (!s.ok()) {
        absl::MutexLock lock(&error_mu);
        if (first_error.ok()) {
          first_error = absl::Status(
              s.code(), absl::StrCat("layer ", i + 1, "/", count, " (",
                                     manifest.layers[i].digest.String(), "): ", s.message()));
        }
        next = count;  // stop handing out work
      }
    }
  };
  std::vector<std::thread> threads;
  for (size_t w = 1; w < workers; ++w) threads.emplace_back(work);
  work();
  for (std::thread& t : threads) t.join();
  return first_error;
}

absl::StatusOr<FetchedImage> LocalImageFetcher::Fetch(const ImageReference& image,
                                                      const RegistryCredentials& creds) {
  absl::StatusOr<Resolved> resolved = Resolve(image, creds);
  if (!resolved.ok()) return resolved.status();
  const Descriptor& config_blob = resolved->manifest.config;
  if (absl::Status s = EnsureBlob(image, config_blob, creds); !s.ok()) return s;
  absl::StatusOr<std::string> config_json = content_.ReadBlob(config_blob.digest, kMaxConfigBytes);
  if (!config_json.ok()) return config_json.status();
  absl::StatusOr<ImageConfig> config = ParseImageConfig(*config_json);
  if (!config.ok()) return config.status();
  if (config->diff_ids.size() != resolved->manifest.layers.size()) {
    return absl::InvalidArgumentError(absl::StrCat("image config lists ", config->diff_ids.size(),
                                                   " diff IDs for ",
                                                   resolved->manifest.layers.size(), " layers"));
  }
  if (absl::Status s = EnsureLayers(image, resolved->manifest, *config, creds); !s.ok()) return s;
  return std::move(resolved->fetched);
}

}  // namespace stockade
