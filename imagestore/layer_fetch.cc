#include "imagestore/layer_fetch.h"

#include <fcntl.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/remove_tree.h"
#include "common/unique_fd.h"
#include "imagestore/byte_source.h"
#include "imagestore/chunk_queue.h"

namespace stockade {
namespace {

// A non-owning view of a shared queue, for the decompressor that wants to own its input.
class QueueReader : public ByteSource {
 public:
  explicit QueueReader(ChunkQueue& queue) : queue_(queue) {}
  absl::StatusOr<size_t> Read(char* buf, size_t size) override { return queue_.Read(buf, size); }
  absl::StatusOr<absl::string_view> ReadView() override { return queue_.ReadView(); }

 private:
  ChunkQueue& queue_;
};

absl::Status CheckDiffId(const UnpackResult& result, const Digest& expected) {
  if (result.diff_id != expected) {
    return absl::DataLossError(absl::StrCat("layer unpacked to diff ID ", result.diff_id.String(),
                                            " but the image config says ", expected.String()));
  }
  return absl::OkStatus();
}

// One download attempt's pipeline; Begin() (a retry) throws the previous attempt away.
class UnpackingBlobSink : public BlobSink {
 public:
  UnpackingBlobSink(const LayerStore& layers, ContentStore& content, const Descriptor& blob,
                    LayerCompression compression, const UnpackOptions& options)
      : layers_(layers),
        content_(content),
        blob_(blob),
        compression_(compression),
        options_(options) {}
  ~UnpackingBlobSink() override { Abort(absl::CancelledError("layer download abandoned")); }

  absl::Status Begin() override {
    Abort(absl::AbortedError("restarting the layer download"));
    absl::StatusOr<std::unique_ptr<ContentStore::Writer>> writer =
        content_.NewWriter(blob_.digest, blob_.size);
    if (!writer.ok()) return writer.status();
    absl::StatusOr<std::string> temp = layers_.NewTempDir();
    if (!temp.ok()) return temp.status();
    writer_ = *std::move(writer);
    temp_dir_ = *std::move(temp);
    pending_.clear();
    queue_ = std::make_unique<ChunkQueue>();
    unpacked_ = absl::InternalError("unpack did not finish");
    unpacker_ = std::thread([this] {
      std::unique_ptr<ByteSource> tar =
          MakeDecompressingSource(std::make_unique<QueueReader>(*queue_), compression_);
      unpacked_ = UnpackLayer(*tar, temp_dir_, options_);
      // Stop the download at once if the layer is refused.
      if (!unpacked_.ok()) queue_->Fail(unpacked_.status());
    });
    return absl::OkStatus();
  }

  absl::Status Write(const char* data, size_t size) override {
    // The network hands over ~16 KiB at a time; the content store and the unpacker get 1 MiB
    // blocks: 60 times fewer write calls, and the threads wake each other 60 times less often.
    pending_.append(data, size);
    if (pending_.size() < kBlock) return absl::OkStatus();
    return Flush();
  }

  // After a successful download: waits for the unpacker, verifies both digests, publishes.
  absl::Status Finish(const Digest& diff_id) {
    if (absl::Status s = Flush(); !s.ok()) {
      Abort(s);
      return s;
    }
    queue_->Close();
    unpacker_.join();
    absl::Status s = unpacked_.ok() ? CheckDiffId(*unpacked_, diff_id) : unpacked_.status();
    if (s.ok()) s = writer_->Commit();
    if (s.ok()) s = layers_.Publish(temp_dir_, diff_id);
    if (!s.ok()) RemoveTreeQuietly(temp_dir_);
    writer_.reset();
    queue_.reset();
    return s;
  }

  void Abort(absl::Status why) {
    if (!queue_) return;
    queue_->Fail(std::move(why));
    unpacker_.join();
    RemoveTreeQuietly(temp_dir_);
    writer_.reset();
    queue_.reset();
  }

 private:
  static constexpr size_t kBlock = 1 << 20;

  absl::Status Flush() {
    if (pending_.empty()) return absl::OkStatus();
    if (absl::Status s = writer_->Write(pending_.data(), pending_.size()); !s.ok()) {
      queue_->Fail(s);
      return s;
    }
    absl::Status s = queue_->Push(std::move(pending_));
    pending_ = std::string();
    pending_.reserve(kBlock + (64 << 10));
    return s;
  }

  std::string pending_;
  const LayerStore& layers_;
  ContentStore& content_;
  const Descriptor& blob_;
  LayerCompression compression_;
  const UnpackOptions& options_;
  std::unique_ptr<ContentStore::Writer> writer_;
  std::unique_ptr<ChunkQueue> queue_;
  std::string temp_dir_;
  std::thread unpacker_;
  absl::StatusOr<UnpackResult> unpacked_ = absl::InternalError("not started");
};

}  // namespace

absl::Status UnpackLayerFromContent(LayerStore& layers, const ContentStore& content,
                                    const Descriptor& blob, const Digest& diff_id,
                                    const UnpackOptions& options) {
  absl::StatusOr<LayerCompression> compression = CompressionOfLayer(blob.media_type);
  if (!compression.ok()) return compression.status();
  const std::string path = content.BlobPath(blob.digest);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return ErrnoError(errno, absl::StrCat("open ", path));
  absl::StatusOr<std::string> temp = layers.NewTempDir();
  if (!temp.ok()) return temp.status();
  std::unique_ptr<ByteSource> tar =
      MakeDecompressingSource(std::make_unique<FdByteSource>(std::move(fd)), *compression);
  absl::StatusOr<UnpackResult> result = UnpackLayer(*tar, *temp, options);
  absl::Status s = result.ok() ? CheckDiffId(*result, diff_id) : result.status();
  if (s.ok()) s = layers.Publish(*temp, diff_id);
  if (!s.ok()) RemoveTreeQuietly(*temp);
  return s;
}

absl::Status FetchAndUnpackLayer(LayerStore& layers, Registry& registry,
                                 const ImageReference& image, const RegistryCredentials& creds,
                                 ContentStore& content, const Descriptor& blob,
                                 const Digest& diff_id, const UnpackOptions& options) {
  absl::StatusOr<LayerCompression> compression = CompressionOfLayer(blob.media_type);
  if (!compression.ok()) return compression.status();
  UnpackingBlobSink sink(layers, content, blob, *compression, options);
  absl::Status fetched = registry.FetchBlob(image, blob, creds, sink);
  if (!fetched.ok()) {
    sink.Abort(fetched);
    return fetched;
  }
  return sink.Finish(diff_id);
}

}  // namespace stockade
