#include "imagestore/image_store.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/errors.h"
#include "common/logging.h"
#include "imagestore/reference.h"
#include "state/record_codec.h"
#include "stockade/v1/records.pb.h"

namespace stockade {
namespace {

constexpr uint32_t kImageRecordVersion = 1;

ImageInfo FromRecord(const stockade::v1::ImageRecord& r) {
  ImageInfo info;
  info.id = r.id();
  info.repo_tags.assign(r.repo_tags().begin(), r.repo_tags().end());
  info.repo_digests.assign(r.repo_digests().begin(), r.repo_digests().end());
  info.size_bytes = r.size_bytes();
  info.user = r.user();
  info.diff_ids.assign(r.diff_ids().begin(), r.diff_ids().end());
  info.manifest_digest = r.manifest_digest();
  return info;
}

void AddUnique(std::vector<std::string>& v, const std::string& s) {
  if (!s.empty() && std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

}  // namespace

ImageUser ParseImageUser(const std::string& user) {
  ImageUser out;
  const std::string name = user.substr(0, user.find(':'));
  if (name.empty()) return out;
  int64_t uid = 0;
  if (absl::SimpleAtoi(name, &uid) && uid >= 0) {
    out.uid = uid;
  } else {
    out.username = name;
  }
  return out;
}

absl::StatusOr<std::unique_ptr<ImageStore>> ImageStore::Open(
    const ImageStoreOptions& options, StateStore& state, std::unique_ptr<ImageFetcher> fetcher) {
  absl::StatusOr<std::unique_ptr<ContentStore>> content =
      ContentStore::Open(options.root + "/content");
  if (!content.ok()) return content.status();
  absl::StatusOr<std::unique_ptr<LayerStore>> layers = LayerStore::Open(options.root + "/layers");
  if (!layers.ok()) return layers.status();
  std::unique_ptr<ImageStore> store(
      new ImageStore(options, state, std::move(fetcher), *std::move(content), *std::move(layers)));
  absl::StatusOr<std::vector<StateEntry>> entries = state.List(RecordKind::kImage, "");
  if (!entries.ok()) return entries.status();
  {
    absl::MutexLock lock(&store->mu_);
    for (const auto& [key, bytes] : *entries) {
      absl::StatusOr<stockade::v1::ImageRecord> r =
          DecodeRecord<stockade::v1::ImageRecord>(RecordKind::kImage, key, bytes);
      if (!r.ok()) return r.status();
      ImageInfo info = FromRecord(*r);
      info.pinned = store->IsPinned(info);
      store->images_[info.id] = std::move(info);
    }
  }
  // A crash mid-pull can leave verified blobs and layers that no record names yet.
  if (absl::Status s = store->CollectGarbage(); !s.ok()) return s;
  return store;
}

absl::StatusOr<ImageInfo> ImageStore::Pull(const std::string& reference,
                                           const RegistryCredentials& creds) {
  absl::StatusOr<ImageReference> ref = ParseImageReference(reference);
  if (!ref.ok()) return ref.status();
  ImageInfo pulled;
  absl::Status s = pulls_.Do(absl::StrCat("pull:", ref->String()), [&] {
    // Garbage collection waits for no pull, and no pull starts while it deletes: what a pull
    // finds already there must still be there when it records the image.
    absl::ReaderMutexLock no_collection(&collect_mu_);
    absl::StatusOr<ImageInfo> info = DoPull(reference, creds);
    if (info.ok()) pulled = *std::move(info);
    return info.status();
  });
  if (!s.ok()) return s;
  if (!pulled.id.empty()) return pulled;
  // Another caller led this pull: find what it recorded.
  return Get(ref->digest.empty() ? ref->TagReference() : ref->DigestReference());
}

absl::StatusOr<ImageInfo> ImageStore::DoPull(const std::string& reference,
                                             const RegistryCredentials& creds) {
  absl::StatusOr<ImageReference> ref = ParseImageReference(reference);
  if (!ref.ok()) return ref.status();
  // "name:tag@digest" pulls and names the digest only, as containerd does.
  if (!ref->digest.empty()) ref->tag.clear();
  const absl::Time start = absl::Now();
  absl::StatusOr<FetchedImage> fetched = fetcher_->Fetch(*ref, creds);
  if (!fetched.ok()) return fetched.status();
  // What the fetcher left in the content store is verified (named by its digest); it is
  // parsed here again, as data from outside this process.
  absl::StatusOr<std::string> manifest_json =
      content_->ReadBlob(fetched->manifest_digest, kMaxManifestBytes);
  if (!manifest_json.ok()) return manifest_json.status();
  absl::StatusOr<ImageManifest> manifest = ParseImageManifest(*manifest_json);
  if (!manifest.ok()) return manifest.status();
  absl::StatusOr<std::string> config_json =
      content_->ReadBlob(manifest->config.digest, kMaxConfigBytes);
  if (!config_json.ok()) return config_json.status();
  absl::StatusOr<ImageConfig> config = ParseImageConfig(*config_json);
  if (!config.ok()) return config.status();
  if (config->diff_ids.size() != manifest->layers.size()) {
    return absl::InvalidArgumentError(absl::StrCat("image config lists ", config->diff_ids.size(),
                                                   " diff IDs for ", manifest->layers.size(),
                                                   " layers"));
  }
  for (const Digest& diff_id : config->diff_ids) {
    if (!layers_->Has(diff_id)) {
      return absl::InternalError(absl::StrCat("the image fetcher reported ", ref->String(),
                                              " complete, but its layer ", diff_id.String(),
                                              " is not unpacked"));
    }
  }
  ImageInfo info;
  if (absl::Status s = Record(*ref, *fetched, *manifest, *config, info); !s.ok()) return s;
  Log(LogLevel::kInfo, "pulled image",
      {{"image", ref->String()},
       {"id", info.id},
       {"bytes", absl::StrCat(info.size_bytes)},
       {"duration", absl::FormatDuration(absl::Now() - start)}});
  return info;
}

absl::Status ImageStore::Record(const ImageReference& ref, const FetchedImage& fetched,
                                const ImageManifest& manifest, const ImageConfig& config,
                                ImageInfo& out) {
  absl::MutexLock write_lock(&write_mu_);
  const std::string id = manifest.config.digest.String();
  stockade::v1::ImageRecord record;
  {
    absl::ReaderMutexLock lock(&mu_);
    if (auto it = images_.find(id); it != images_.end()) {
      absl::StatusOr<stockade::v1::ImageRecord> existing =
          GetRecord<stockade::v1::ImageRecord>(state_, RecordKind::kImage, id);
      if (existing.ok()) record = *std::move(existing);
    }
  }
  record.set_record_version(kImageRecordVersion);
  record.set_id(id);
  std::vector<std::string> tags(record.repo_tags().begin(), record.repo_tags().end());
  std::vector<std::string> digests(record.repo_digests().begin(), record.repo_digests().end());
  const std::string tag_ref = ref.TagReference();
  AddUnique(tags, tag_ref);
  AddUnique(digests, absl::StrCat(ref.Repository(), "@", fetched.top_digest.String()));
  record.mutable_repo_tags()->Assign(tags.begin(), tags.end());
  record.mutable_repo_digests()->Assign(digests.begin(), digests.end());
  uint64_t size = static_cast<uint64_t>(manifest.config.size);
  record.clear_layer_digests();
  for (const Descriptor& layer : manifest.layers) {
    size += static_cast<uint64_t>(layer.size);
    record.add_layer_digests(layer.digest.String());
  }
  record.set_size_bytes(size);
  record.clear_diff_ids();
  for (const Digest& d : config.diff_ids) record.add_diff_ids(d.String());
  std::vector<std::string> blobs(record.blob_digests().begin(), record.blob_digests().end());
  for (const Digest& d : fetched.manifest_blobs) AddUnique(blobs, d.String());
  AddUnique(blobs, id);
  for (const Descriptor& layer : manifest.layers) AddUnique(blobs, layer.digest.String());
  record.mutable_blob_digests()->Assign(blobs.begin(), blobs.end());
  record.set_manifest_digest(fetched.manifest_digest.String());
  record.set_user(config.user);
  record.set_pulled_at_unix_nano(absl::GetCurrentTimeNanos());

  // A tag names one image: pulling it again moves it here from the image it named before.
  StateBatch batch;
  std::vector<ImageInfo> retagged;
  {
    absl::ReaderMutexLock lock(&mu_);
    for (const auto& [other_id, other] : images_) {
      if (other_id == id || tag_ref.empty()) continue;
      if (std::find(other.repo_tags.begin(), other.repo_tags.end(), tag_ref) ==
          other.repo_tags.end()) {
        continue;
      }
      absl::StatusOr<stockade::v1::ImageRecord> r =
          GetRecord<stockade::v1::ImageRecord>(state_, RecordKind::kImage, other_id);
      if (!r.ok()) return r.status();
      std::vector<std::string> kept;
      for (const std::string& t : r->repo_tags()) {
        if (t != tag_ref) kept.push_back(t);
      }
      r->mutable_repo_tags()->Assign(kept.begin(), kept.end());
      batch.Put(RecordKind::kImage, other_id, r->SerializeAsString());
      retagged.push_back(FromRecord(*r));
    }
  }
  batch.Put(RecordKind::kImage, id, record.SerializeAsString());
  if (absl::Status s = state_.Write(batch, Durability::kSync); !s.ok()) return s;
  out = FromRecord(record);
  out.pinned = IsPinned(out);
  absl::MutexLock lock(&mu_);
  for (ImageInfo& r : retagged) {
    r.pinned = IsPinned(r);
    images_[r.id] = std::move(r);
  }
  images_[id] = out;
  return absl::OkStatus();
}

bool ImageStore::IsPinned(const ImageInfo& image) const {
  for (const std::string& pinned : options_.pinned_images) {
    absl::StatusOr<ImageReference> ref = ParseImageReference(pinned);
    if (!ref.ok()) continue;
    const std::string name = ref->digest.empty() ? ref->TagReference() : ref->DigestReference();
    for (const std::string& t : image.repo_tags) {
      if (t == name) return true;
    }
    for (const std::string& d : image.repo_digests) {
      if (d == name) return true;
    }
  }
  return false;
}

std::optional<std::string> ImageStore::FindIdLocked(const std::string& query) const {
  if (query.empty()) return std::nullopt;
  if (images_.count(query) > 0) return query;
  // A reference, normalised: "busybox" finds docker.io/library/busybox:latest.
  if (absl::StatusOr<ImageReference> ref = ParseImageReference(query); ref.ok()) {
    const std::string tag_ref = ref->TagReference();
    const std::string digest_ref = ref->DigestReference();
    for (const auto& [id, image] : images_) {
      if (!digest_ref.empty()) {
        if (std::find(image.repo_digests.begin(), image.repo_digests.end(), digest_ref) !=
            image.repo_digests.end()) {
          return id;
        }
      } else if (std::find(image.repo_tags.begin(), image.repo_tags.end(), tag_ref) !=
                 image.repo_tags.end()) {
        return id;
      }
    }
  }
  // A unique prefix of an id, with or without "sha256:".
  std::string hex(absl::StripPrefix(query, "sha256:"));
  if (hex.empty() || !std::all_of(hex.begin(), hex.end(), [](char c) {
        return absl::ascii_isdigit(c) || (c >= 'a' && c <= 'f');
      })) {
    return std::nullopt;
  }
  std::optional<std::string> found;
  for (const auto& [id, image] : images_) {
    if (absl::StartsWith(id, absl::StrCat("sha256:", hex))) {
      if (found) return std::nullopt;  // ambiguous
      found = id;
    }
  }
  return found;
}

absl::StatusOr<ImageInfo> ImageStore::Get(const std::string& id_or_reference) const {
  absl::ReaderMutexLock lock(&mu_);
  std::optional<std::string> id = FindIdLocked(id_or_reference);
  if (!id) return absl::NotFoundError(absl::StrCat("image \"", id_or_reference, "\" not found"));
  return images_.at(*id);
}

std::vector<ImageInfo> ImageStore::List(const std::string& reference_filter) const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<ImageInfo> out;
  if (!reference_filter.empty()) {
    if (std::optional<std::string> id = FindIdLocked(reference_filter)) {
      out.push_back(images_.at(*id));
    }
    return out;
  }
  for (const auto& [id, image] : images_) out.push_back(image);
  return out;
}

absl::Status ImageStore::Remove(const std::string& id_or_reference) {
  {
    absl::MutexLock write_lock(&write_mu_);
    std::optional<std::string> id;
    {
      absl::ReaderMutexLock lock(&mu_);
      id = FindIdLocked(id_or_reference);
    }
    if (!id) return absl::OkStatus();  // already gone
    if (absl::Status s = state_.Delete(RecordKind::kImage, *id, Durability::kSync); !s.ok()) {
      return s;
    }
    absl::MutexLock lock(&mu_);
    images_.erase(*id);
  }
  return CollectGarbage();
}

absl::Status ImageStore::CollectGarbage() {
  absl::MutexLock write_lock(&write_mu_);
  // A pull in flight has blobs and layers that no record names yet: collect later.
  if (!collect_mu_.WriterTryLock()) return absl::OkStatus();
  absl::Cleanup unlock = [&] { collect_mu_.WriterUnlock(); };
  std::set<std::string> blobs, layers;
  {
    absl::ReaderMutexLock lock(&mu_);
    for (const auto& [id, image] : images_) {
      layers.insert(image.diff_ids.begin(), image.diff_ids.end());
    }
  }
  absl::StatusOr<std::vector<StateEntry>> records = state_.List(RecordKind::kImage, "");
  if (!records.ok()) return records.status();
  for (const auto& [key, bytes] : *records) {
    absl::StatusOr<stockade::v1::ImageRecord> r =
        DecodeRecord<stockade::v1::ImageRecord>(RecordKind::kImage, key, bytes);
    if (!r.ok()) return r.status();
    blobs.insert(r->blob_digests().begin(), r->blob_digests().end());
  }
  absl::StatusOr<std::vector<Digest>> stored = content_->List();
  if (!stored.ok()) return stored.status();
  for (const Digest& d : *stored) {
    if (blobs.count(d.String()) == 0) {
      if (absl::Status s = content_->Delete(d); !s.ok()) return s;
    }
  }
  absl::StatusOr<std::vector<Digest>> unpacked = layers_->List();
  if (!unpacked.ok()) return unpacked.status();
  const std::set<std::string> in_use =
      options_.layer_dirs_in_use ? options_.layer_dirs_in_use() : std::set<std::string>();
  for (const Digest& d : *unpacked) {
    if (layers.count(d.String()) == 0 && in_use.count(layers_->LayerPath(d)) == 0) {
      if (absl::Status s = layers_->Remove(d); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ImageStore::ConfigJson(const ImageInfo& image) const {
  absl::StatusOr<Digest> digest = Digest::Parse(image.id);
  if (!digest.ok()) return digest.status();
  return content_->ReadBlob(*digest, kMaxConfigBytes);
}

absl::StatusOr<std::vector<std::string>> ImageStore::LayerPaths(const ImageInfo& image) const {
  std::vector<std::string> out;
  for (const std::string& id : image.diff_ids) {
    absl::StatusOr<Digest> d = Digest::Parse(id);
    if (!d.ok()) return d.status();
    out.push_back(layers_->LayerPath(*d));
  }
  return out;
}

absl::StatusOr<ImageFsUsage> ImageStore::Usage() const {
  ImageFsUsage usage;
  usage.mountpoint = options_.root;
  std::set<std::pair<dev_t, ino_t>> seen;  // hardlinks count once
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(
           options_.root, std::filesystem::directory_options::skip_permission_denied, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st;
    if (::lstat(it->path().c_str(), &st) != 0) continue;
    if (!seen.insert({st.st_dev, st.st_ino}).second) continue;
    usage.used_bytes += static_cast<uint64_t>(st.st_blocks) * 512;
    ++usage.inodes_used;
  }
  if (ec) return ErrnoError(ec.value(), absl::StrCat("measure ", options_.root));
  return usage;
}

}  // namespace stockade
