// Typed access to StateStore records: stockade.v1 protobuf messages in, bytes out, and back.
// Include only where records are read or written; it pulls in protobuf.
#pragma once

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/message_lite.h"
#include "state/state_store.h"

namespace stockade {

template <typename Record>
absl::StatusOr<Record> DecodeRecord(RecordKind kind, absl::string_view key,
                                    const std::string& bytes) {
  Record record;
  if (!record.ParseFromString(bytes)) {
    return absl::DataLossError(absl::StrCat("state store ", RecordKindName(kind), " record ", key,
                                            " is corrupt (", bytes.size(),
                                            " bytes do not decode)"));
  }
  return record;
}

template <typename Record>
absl::StatusOr<Record> GetRecord(StateStore& store, RecordKind kind, absl::string_view key) {
  absl::StatusOr<std::string> bytes = store.Get(kind, key);
  if (!bytes.ok()) return bytes.status();
  return DecodeRecord<Record>(kind, key, *bytes);
}

inline absl::Status PutRecord(StateStore& store, RecordKind kind, std::string key,
                              const google::protobuf::MessageLite& record, Durability durability) {
  return store.Put(kind, std::move(key), record.SerializeAsString(), durability);
}

}  // namespace stockade
