#include "state/memory_state_store.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace stockade {

absl::StatusOr<std::string> MemoryStateStore::Get(RecordKind kind, absl::string_view key) {
  absl::MutexLock lock(&mu_);
  auto it = data_.find({kind, std::string(key)});
  if (it == data_.end()) {
    return absl::NotFoundError(absl::StrCat(RecordKindName(kind), " record ", key, " not found"));
  }
  return it->second;
}

absl::Status MemoryStateStore::Write(const StateBatch& batch, Durability durability) {
  absl::MutexLock lock(&mu_);
  if (!next_write_error_.ok()) return std::exchange(next_write_error_, absl::OkStatus());
  for (const StateBatch::Op& op : batch.ops()) {
    if (op.key.empty()) return absl::InvalidArgumentError("state store keys must not be empty");
  }
  for (const StateBatch::Op& op : batch.ops()) {
    if (op.value) {
      data_[{op.kind, op.key}] = *op.value;
    } else {
      data_.erase({op.kind, op.key});
    }
  }
  if (durability == Durability::kSync) ++sync_writes_;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<StateEntry>> MemoryStateStore::List(RecordKind kind,
                                                               absl::string_view prefix) {
  absl::MutexLock lock(&mu_);
  std::vector<StateEntry> out;
  for (auto it = data_.lower_bound({kind, std::string(prefix)});
       it != data_.end() && it->first.first == kind && absl::StartsWith(it->first.second, prefix);
       ++it) {
    out.emplace_back(it->first.second, it->second);
  }
  return out;
}

void MemoryStateStore::FailNextWrite(absl::Status status) {
  absl::MutexLock lock(&mu_);
  next_write_error_ = std::move(status);
}

int MemoryStateStore::sync_writes() const {
  absl::MutexLock lock(&mu_);
  return sync_writes_;
}

}  // namespace stockade
