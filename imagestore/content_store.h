// Content-addressed blob storage: `<root>/blobs/sha256/<hex>`. A blob is written to a temp file
// under `<root>/ingest/`, hashed as it arrives, verified, fsynced and only then renamed into
// place, so a reader never sees a partial or unverified blob, even after a crash.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/file_lock.h"
#include "common/unique_fd.h"
#include "imagestore/digest.h"

namespace stockade {

class ContentStore {
 public:
  // Creates the directories and discards what a crashed writer left in ingest/.
  static absl::StatusOr<std::unique_ptr<ContentStore>> Open(const std::string& root);
  // The store another process opened, for a writer of its own (the puller): nothing is
  // discarded, and this writer's temp files carry `temp_tag` so that its owner can remove them
  // (RemoveTemps) if it dies.
  static absl::StatusOr<std::unique_ptr<ContentStore>> Attach(const std::string& root,
                                                              const std::string& temp_tag);
  // Removes the temp files of the writer that was given `temp_tag`, in the store at `root`.
  static void RemoveTemps(const std::string& root, const std::string& temp_tag);

  // Receives one blob. Destroying it without Commit() removes the temp file.
  class Writer {
   public:
    ~Writer();
    // DataLoss as soon as more bytes arrive than the descriptor announced.
    absl::Status Write(const char* data, size_t size);
    // Verifies size and digest, fsyncs, publishes. DataLoss on a mismatch.
    absl::Status Commit();
    int64_t written() const { return written_; }

   private:
    friend class ContentStore;
    Writer(const ContentStore& store, Digest expected, int64_t expected_size, std::string temp,
           UniqueFd fd);
    const ContentStore& store_;
    Digest expected_;
    int64_t expected_size_;
    std::string temp_path_;
    UniqueFd fd_;
    Sha256 hash_;
    int64_t written_ = 0;
    bool committed_ = false;
  };

  // `expected_size` < 0 means unknown.
  absl::StatusOr<std::unique_ptr<Writer>> NewWriter(const Digest& expected, int64_t expected_size);

  bool Has(const Digest& digest) const;
  std::string BlobPath(const Digest& digest) const;
  // Reads a whole (small) blob; ResourceExhausted over `max_bytes`, NotFound when absent.
  absl::StatusOr<std::string> ReadBlob(const Digest& digest, int64_t max_bytes) const;
  // Idempotent.
  absl::Status Delete(const Digest& digest);
  absl::StatusOr<std::vector<Digest>> List() const;

  // Serialises transfers of one thing (`kind` "blob" or "layer", and its digest) across the
  // processes that write this store, so that concurrent pulls fetch it once.
  absl::StatusOr<FileLock> LockTransfer(absl::string_view kind, const Digest& digest) const;

  const std::string& root() const { return root_; }

 private:
  ContentStore(std::string root, std::string temp_prefix)
      : root_(std::move(root)), temp_prefix_(std::move(temp_prefix)) {}
  std::string root_;
  std::string temp_prefix_;  // of ingest/ file names: "" or "<tag>."
};

}  // namespace stockade
