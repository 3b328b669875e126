// The daemon's persistent key-value state: one keyspace per record kind (a RocksDB column
// family), atomic multi-key batches, and a `sync` durability for lifecycle transitions.
// Values are serialized stockade.v1 records (proto/stockade/v1/records.proto); this header stays
// free of protobuf so that it can be included anywhere (see record_codec.h for typed access).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace stockade {

enum class RecordKind { kMeta, kPod, kContainer, kImage, kNetwork };
inline constexpr RecordKind kAllRecordKinds[] = {RecordKind::kMeta, RecordKind::kPod,
                                                 RecordKind::kContainer, RecordKind::kImage,
                                                 RecordKind::kNetwork};
absl::string_view RecordKindName(RecordKind kind);

// The layout version of the store as a whole. Bump when existing records cannot be read as-is.
inline constexpr uint32_t kStateSchemaVersion = 1;
inline constexpr absl::string_view kSchemaVersionKey = "schema_version";

enum class Durability {
  kBuffered,  // survives a daemon crash (the WAL is written), not necessarily a power cut
  kSync,      // fsynced before the call returns: use for every lifecycle transition
};

// Writes and deletes applied all together or not at all.
class StateBatch {
 public:
  struct Op {
    RecordKind kind;
    std::string key;
    std::optional<std::string> value;  // nullopt: delete
  };
  StateBatch& Put(RecordKind kind, std::string key, std::string value) {
    ops_.push_back({kind, std::move(key), std::move(value)});
    return *this;
  }
  StateBatch& Delete(RecordKind kind, std::string key) {
    ops_.push_back({kind, std::move(key), std::nullopt});
    return *this;
  }
  const std::vector<Op>& ops() const { return ops_; }
  bool empty() const { return ops_.empty(); }

 private:
  std::vector<Op> ops_;
};

using StateEntry = std::pair<std::string, std::string>;  // key, value

class StateStore {
 public:
  virtual ~StateStore() = default;

  // NotFound when the key is absent.
  virtual absl::StatusOr<std::string> Get(RecordKind kind, absl::string_view key) = 0;
  virtual absl::Status Write(const StateBatch& batch, Durability durability) = 0;
  // Every entry whose key starts with `prefix` ("" lists the kind), in key order.
  virtual absl::StatusOr<std::vector<StateEntry>> List(RecordKind kind,
                                                       absl::string_view prefix) = 0;

  absl::Status Put(RecordKind kind, std::string key, std::string value, Durability durability) {
    return Write(StateBatch().Put(kind, std::move(key), std::move(value)), durability);
  }
  absl::Status Delete(RecordKind kind, std::string key, Durability durability) {
    return Write(StateBatch().Delete(kind, std::move(key)), durability);
  }
};

// Stamps a fresh store with kStateSchemaVersion, or checks an existing one: a store written by
// another schema is refused with FailedPrecondition naming both versions and what to do.
// `location` names the store in messages (its directory).
absl::Status CheckOrInitSchema(StateStore& store, absl::string_view location,
                               absl::string_view daemon_version);

}  // namespace stockade
