#include "state/rocksdb_state_store.h"

#include <array>

#include "absl/strings/str_cat.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/options_util.h"
#include "rocksdb/write_batch.h"

namespace stockade {
namespace {

constexpr size_t kKindCount = std::size(kAllRecordKinds);

std::string ColumnFamilyName(RecordKind kind) {
  // RocksDB always has "default"; the meta records live there.
  return kind == RecordKind::kMeta ? rocksdb::kDefaultColumnFamilyName
                                   : std::string(RecordKindName(kind));
}

absl::Status ToStatus(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string message = absl::StrCat(what, ": ", s.ToString());
  if (s.IsNotFound()) return absl::NotFoundError(message);
  if (s.IsCorruption()) return absl::DataLossError(message);
  if (s.IsIOError() || s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) {
    return absl::UnavailableError(message);
  }
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(message);
  return absl::InternalError(message);
}

class RocksDbStateStore : public StateStore {
 public:
  RocksDbStateStore(std::string dir, std::unique_ptr<rocksdb::DB> db,
                    std::vector<rocksdb::ColumnFamilyHandle*> handles)
      : dir_(std::move(dir)), db_(std::move(db)), handles_(std::move(handles)) {}

  ~RocksDbStateStore() override {
    for (rocksdb::ColumnFamilyHandle* h : handles_) db_->DestroyColumnFamilyHandle(h);
    db_->Close().PermitUncheckedError();
  }

  absl::StatusOr<std::string> Get(RecordKind kind, absl::string_view key) override {
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), Handle(kind),
                                 rocksdb::Slice(key.data(), key.size()), &value);
    if (s.IsNotFound()) {
      return absl::NotFoundError(absl::StrCat(RecordKindName(kind), " record ", key, " not found"));
    }
    if (!s.ok()) return ToStatus(s, absl::StrCat("read ", RecordKindName(kind), "/", key));
    return value;
  }

  absl::Status Write(const StateBatch& batch, Durability durability) override {
    rocksdb::WriteBatch wb;
    for (const StateBatch::Op& op : batch.ops()) {
      if (op.key.empty()) return absl::InvalidArgumentError("state store keys must not be empty");
      rocksdb::Status s = op.value ? wb.Put(Handle(op.kind), op.key, *op.value)
                                   : wb.Delete(Handle(op.kind), op.key);
      if (!s.ok()) return ToStatus(s, "prepare state batch");
    }
    rocksdb::WriteOptions options;
    options.sync = durability == Durability::kSync;
    return ToStatus(db_->Write(options, &wb), absl::StrCat("write state store ", dir_));
  }

  absl::StatusOr<std::vector<StateEntry>> List(RecordKind kind, absl::string_view prefix) override {
    std::vector<StateEntry> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), Handle(kind)));
    const rocksdb::Slice wanted(prefix.data(), prefix.size());
    for (it->Seek(wanted); it->Valid() && it->key().starts_with(wanted); it->Next()) {
      out.emplace_back(it->key().ToString(), it->value().ToString());
    }
    if (!it->status().ok()) {
      return ToStatus(it->status(), absl::StrCat("list ", RecordKindName(kind)));
    }
    return out;
  }

 private:
  rocksdb::ColumnFamilyHandle* Handle(RecordKind kind) const {
    return handles_[static_cast<size_t>(kind)];
  }

  std::string dir_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // indexed by RecordKind
};

rocksdb::ColumnFamilyOptions SmallColumnFamilyOptions(std::shared_ptr<rocksdb::Cache> cache) {
  rocksdb::ColumnFamilyOptions cf;
  cf.OptimizeForSmallDb(&cache);
  cf.write_buffer_size = 1 << 20;
  cf.max_write_buffer_number = 2;
  return cf;
}

}  // namespace

absl::StatusOr<std::unique_ptr<StateStore>> OpenRocksDbStateStore(const std::string& dir) {
  static_assert(static_cast<size_t>(RecordKind::kMeta) == 0);
  auto cache = rocksdb::NewLRUCache(1 << 20);
  rocksdb::DBOptions db_options;
  db_options.OptimizeForSmallDb(&cache);
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_open_files = 64;
  db_options.keep_log_file_num = 2;
  db_options.max_background_jobs = 2;
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;

  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (RecordKind kind : kAllRecordKinds) {
    families.emplace_back(ColumnFamilyName(kind), SmallColumnFamilyOptions(cache));
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, dir, families, &handles, &raw);
  if (!s.ok()) {
    if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
      return absl::FailedPreconditionError(
          absl::StrCat("state store ", dir, " is in use by another process: ", s.ToString()));
    }
    return ToStatus(s, absl::StrCat("open state store ", dir));
  }
  if (handles.size() != kKindCount) {
    return absl::InternalError(absl::StrCat("open state store ", dir, ": expected ", kKindCount,
                                            " column families, got ", handles.size()));
  }
  return std::make_unique<RocksDbStateStore>(dir, std::unique_ptr<rocksdb::DB>(raw),
                                             std::move(handles));
}

}  // namespace stockade
