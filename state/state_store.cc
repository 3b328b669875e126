#include "state/state_store.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "state/record_codec.h"
#include "stockade/v1/records.pb.h"

namespace stockade {

absl::string_view RecordKindName(RecordKind kind) {
  switch (kind) {
    case RecordKind::kMeta:
      return "meta";
    case RecordKind::kPod:
      return "pods";
    case RecordKind::kContainer:
      return "containers";
    case RecordKind::kImage:
      return "images";
    case RecordKind::kNetwork:
      return "network";
  }
  return "unknown";
}

absl::Status CheckOrInitSchema(StateStore& store, absl::string_view location,
                               absl::string_view daemon_version) {
  absl::StatusOr<stockade::v1::SchemaRecord> existing =
      GetRecord<stockade::v1::SchemaRecord>(store, RecordKind::kMeta, kSchemaVersionKey);
  if (absl::IsNotFound(existing.status())) {
    absl::StatusOr<std::vector<StateEntry>> pods = store.List(RecordKind::kPod, "");
    if (!pods.ok()) return pods.status();
    if (!pods->empty()) {
      return absl::DataLossError(
          absl::StrCat("state store ", location,
                       " holds records but no schema version; it was not written "
                       "by stockaded or is damaged: move it away and start again"));
    }
    stockade::v1::SchemaRecord fresh;
    fresh.set_schema_version(kStateSchemaVersion);
    fresh.set_created_by(std::string(daemon_version));
    fresh.set_created_at_unix_nano(absl::GetCurrentTimeNanos());
    return PutRecord(store, RecordKind::kMeta, std::string(kSchemaVersionKey), fresh,
                     Durability::kSync);
  }
  if (!existing.ok()) return existing.status();
  if (existing->schema_version() != kStateSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "state store ", location, " has schema version ", existing->schema_version(),
        " (created by stockaded ", existing->created_by(), "), but this stockaded ", daemon_version,
        " reads schema version ", kStateSchemaVersion,
        ": run a stockaded that matches it, or move the state dir away to start empty"));
  }
  return absl::OkStatus();
}

}  // namespace stockade
