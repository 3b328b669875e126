// The StateStore on RocksDB: one column family per RecordKind under `<state_dir>/db`.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "state/state_store.h"

namespace stockade {

// Opens (creating if needed) the database in `dir` with settings for a small, write-light
// store: small memtables and cache, so an idle daemon stays small.
absl::StatusOr<std::unique_ptr<StateStore>> OpenRocksDbStateStore(const std::string& dir);

}  // namespace stockade
