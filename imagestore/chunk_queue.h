// A bounded queue of byte chunks between a producer (the network) and a consumer (the
// unpacker), as a ByteSource for the consumer. Bounded, so a slow disk slows the download
// instead of filling memory; either side can fail it, and the other sees the error.
#pragma once

#include <algorithm>
#include <cstring>
#include <deque>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "imagestore/byte_source.h"

namespace stockade {

class ChunkQueue : public ByteSource {
 public:
  explicit ChunkQueue(size_t max_chunks = 8) : max_chunks_(max_chunks) {}

  // Producer side. Blocks while full; returns the consumer's error if it gave up.
  absl::Status Push(std::string chunk) {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &ChunkQueue::HasRoomOrDone));
    if (!error_.ok()) return error_;
    chunks_.push_back(std::move(chunk));
    return absl::OkStatus();
  }
  // No more data will come.
  void Close() {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }
  // Either side: abort with `error` (the first error wins).
  void Fail(absl::Status error) {
    absl::MutexLock lock(&mu_);
    if (error_.ok()) error_ = std::move(error);
  }

  // Consumer side: the next chunk itself, no copy; it stays valid until the next call.
  absl::StatusOr<absl::string_view> ReadView() override {
    absl::MutexLock lock(&mu_);
    if (current_taken_) {
      chunks_.pop_front();
      current_taken_ = false;
    }
    if (offset_ > 0) {  // a Read() left part of the front chunk
      std::string& front = chunks_.front();
      front.erase(0, offset_);
      offset_ = 0;
    }
    mu_.Await(absl::Condition(this, &ChunkQueue::HasDataOrDone));
    if (!error_.ok()) return error_;
    if (chunks_.empty()) return absl::string_view();
    current_taken_ = true;
    return absl::string_view(chunks_.front());
  }

  absl::StatusOr<size_t> Read(char* buf, size_t size) override {
    absl::MutexLock lock(&mu_);
    if (current_taken_) {
      chunks_.pop_front();
      current_taken_ = false;
    }
    mu_.Await(absl::Condition(this, &ChunkQueue::HasDataOrDone));
    if (!error_.ok()) return error_;
    if (chunks_.empty()) return 0;  // closed and drained
    std::string& front = chunks_.front();
    const size_t n = std::min(size, front.size() - offset_);
    std::memcpy(buf, front.data() + offset_, n);
    offset_ += n;
    if (offset_ == front.size()) {
      chunks_.pop_front();
      offset_ = 0;
    }
    return n;
  }

 private:
  bool HasRoomOrDone() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return chunks_.size() < max_chunks_ || !error_.ok();
  }
  bool HasDataOrDone() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !chunks_.empty() || closed_ || !error_.ok();
  }

  const size_t max_chunks_;
  absl::Mutex mu_;
  std::deque<std::string> chunks_ ABSL_GUARDED_BY(mu_);
  size_t offset_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  // The front chunk was handed out by ReadView: it is dropped at the next read.
  bool current_taken_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace stockade
