// An in-memory StateStore for unit tests of the core. It behaves like the RocksDB store in
// everything the conformance suite checks, and can be told to fail writes.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "state/state_store.h"

namespace stockade {

class MemoryStateStore : public StateStore {
 public:
  absl::StatusOr<std::string> Get(RecordKind kind, absl::string_view key) override;
  absl::Status Write(const StateBatch& batch, Durability durability) override;
  absl::StatusOr<std::vector<StateEntry>> List(RecordKind kind, absl::string_view prefix) override;

  // The next Write fails with `status` and changes nothing.
  void FailNextWrite(absl::Status status);
  // How many Write calls asked for Durability::kSync.
  int sync_writes() const;

 private:
  mutable absl::Mutex mu_;
  std::map<std::pair<RecordKind, std::string>, std::string> data_ ABSL_GUARDED_BY(mu_);
  absl::Status next_write_error_ ABSL_GUARDED_BY(mu_);
  int sync_writes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace stockade
