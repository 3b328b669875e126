// One conformance suite for every StateStore: the RocksDB store and the in-memory fake must
// behave the same in everything the core relies on.
#include <functional>
#include <memory>
#include <thread>

#include "gtest/gtest.h"
#include "state/memory_state_store.h"
#include "state/record_codec.h"
#include "state/rocksdb_state_store.h"
#include "stockade/v1/records.pb.h"
#include "tests/support/temp_dir.h"

namespace stockade {
namespace {

struct StoreFactory {
  std::string name;
  // Opens a fresh store; `dir` is an empty directory it may use.
  std::function<std::unique_ptr<StateStore>(const std::string& dir)> open;
};

class StateStoreConformance : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override { store_ = GetParam().open(dir_.Sub("db")); }
  testing::TempDir dir_;
  std::unique_ptr<StateStore> store_;
};

TEST_P(StateStoreConformance, GetOfAbsentKeyIsNotFound) {
  EXPECT_TRUE(absl::IsNotFound(store_->Get(RecordKind::kPod, "nope").status()));
}

TEST_P(StateStoreConformance, PutThenGetRoundTripsBinaryValues) {
  const std::string value("a\0b\xff", 4);
  ASSERT_TRUE(store_->Put(RecordKind::kPod, "p1", value, Durability::kSync).ok());
  absl::StatusOr<std::string> got = store_->Get(RecordKind::kPod, "p1");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, value);
}

TEST_P(StateStoreConformance, KindsAreSeparateKeyspaces) {
  ASSERT_TRUE(store_->Put(RecordKind::kPod, "same", "pod", Durability::kBuffered).ok());
  ASSERT_TRUE(store_->Put(RecordKind::kContainer, "same", "ctr", Durability::kBuffered).ok());
  EXPECT_EQ(*store_->Get(RecordKind::kPod, "same"), "pod");
  EXPECT_EQ(*store_->Get(RecordKind::kContainer, "same"), "ctr");
  EXPECT_TRUE(absl::IsNotFound(store_->Get(RecordKind::kImage, "same").status()));
}

TEST_P(StateStoreConformance, OverwriteReplacesValue) {
  ASSERT_TRUE(store_->Put(RecordKind::kImage, "i", "v1", Durability::kBuffered).ok());
  ASSERT_TRUE(store_->Put(RecordKind::kImage, "i", "v2", Durability::kBuffered).ok());
  EXPECT_EQ(*store_->Get(RecordKind::kImage, "i"), "v2");
}

TEST_P(StateStoreConformance, DeleteRemovesAndIsIdempotent) {
  ASSERT_TRUE(store_->Put(RecordKind::kPod, "p", "v", Durability::kBuffered).ok());
  ASSERT_TRUE(store_->Delete(RecordKind::kPod, "p", Durability::kSync).ok());
  EXPECT_TRUE(absl::IsNotFound(store_->Get(RecordKind::kPod, "p").status()));
  EXPECT_TRUE(store_->Delete(RecordKind::kPod, "p", Durability::kSync).ok());
}

TEST_P(StateStoreConformance, ListByPrefixIsOrderedAndBounded) {
  for (const char* key : {"pod/b", "pod/a", "pod/c", "poe", "po", "container/x"}) {
    ASSERT_TRUE(store_->Put(RecordKind::kNetwork, key, key, Durability::kBuffered).ok());
  }
  ASSERT_TRUE(store_->Put(RecordKind::kPod, "pod/z", "other kind", Durability::kBuffered).ok());
  absl::StatusOr<std::vector<StateEntry>> listed = store_->List(RecordKind::kNetwork, "pod/");
  ASSERT_TRUE(listed.ok()) << listed.status();
  std::vector<std::string> keys;
  for (const auto& [k, v] : *listed) {
    keys.push_back(k);
    EXPECT_EQ(k, v);
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"pod/a", "pod/b", "pod/c"}));
  EXPECT_EQ(store_->List(RecordKind::kNetwork, "")->size(), 6u);
  EXPECT_TRUE(store_->List(RecordKind::kNetwork, "zzz")->empty());
}

TEST_P(StateStoreConformance, BatchAppliesAllOperationsTogether) {
  ASSERT_TRUE(store_->Put(RecordKind::kContainer, "old", "x", Durability::kBuffered).ok());
  StateBatch batch;
  batch.Put(RecordKind::kPod, "p", "pod")
      .Put(RecordKind::kContainer, "c", "ctr")
      .Delete(RecordKind::kContainer, "old");
  ASSERT_TRUE(store_->Write(batch, Durability::kSync).ok());
  EXPECT_EQ(*store_->Get(RecordKind::kPod, "p"), "pod");
  EXPECT_EQ(*store_->Get(RecordKind::kContainer, "c"), "ctr");
  EXPECT_TRUE(absl::IsNotFound(store_->Get(RecordKind::kContainer, "old").status()));
}

TEST_P(StateStoreConformance, BatchWithInvalidKeyChangesNothing) {
  StateBatch batch;
  batch.Put(RecordKind::kPod, "fine", "v").Put(RecordKind::kPod, "", "empty key");
  EXPECT_TRUE(absl::IsInvalidArgument(store_->Write(batch, Durability::kSync)));
  EXPECT_TRUE(absl::IsNotFound(store_->Get(RecordKind::kPod, "fine").status()));
}

TEST_P(StateStoreConformance, LaterOperationInBatchWins) {
  StateBatch batch;
  batch.Put(RecordKind::kPod, "k", "first")
      .Delete(RecordKind::kPod, "k")
      .Put(RecordKind::kPod, "k", "last");
  ASSERT_TRUE(store_->Write(batch, Durability::kBuffered).ok());
  EXPECT_EQ(*store_->Get(RecordKind::kPod, "k"), "last");
}

TEST_P(StateStoreConformance, TypedRecordsRoundTrip) {
  stockade::v1::PodRecord pod;
  pod.set_record_version(1);
  pod.set_id(std::string(64, 'a'));
  pod.set_state(stockade::v1::POD_STATE_READY);
  (*pod.mutable_labels())["io.kubernetes.pod.uid"] = "uid-1";
  ASSERT_TRUE(PutRecord(*store_, RecordKind::kPod, pod.id(), pod, Durability::kSync).ok());
  absl::StatusOr<stockade::v1::PodRecord> back =
      GetRecord<stockade::v1::PodRecord>(*store_, RecordKind::kPod, pod.id());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->state(), stockade::v1::POD_STATE_READY);
  EXPECT_EQ(back->labels().at("io.kubernetes.pod.uid"), "uid-1");
}

TEST_P(StateStoreConformance, CorruptRecordIsDataLoss) {
  ASSERT_TRUE(store_->Put(RecordKind::kPod, "bad", "\xff\xff\xff", Durability::kSync).ok());
  absl::StatusOr<stockade::v1::PodRecord> back =
      GetRecord<stockade::v1::PodRecord>(*store_, RecordKind::kPod, "bad");
  EXPECT_EQ(back.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(back.status().message().find("bad"), absl::string_view::npos);
}

TEST_P(StateStoreConformance, SchemaIsStampedOnceThenAccepted) {
  ASSERT_TRUE(CheckOrInitSchema(*store_, "test", "v-test").ok());
  absl::StatusOr<stockade::v1::SchemaRecord> schema =
      GetRecord<stockade::v1::SchemaRecord>(*store_, RecordKind::kMeta, kSchemaVersionKey);
  ASSERT_TRUE(schema.ok());
  EXPECT_EQ(schema->schema_version(), kStateSchemaVersion);
  EXPECT_EQ(schema->created_by(), "v-test");
  EXPECT_TRUE(CheckOrInitSchema(*store_, "test", "v-other").ok());
  EXPECT_EQ(GetRecord<stockade::v1::SchemaRecord>(*store_, RecordKind::kMeta, kSchemaVersionKey)
                ->created_by(),
            "v-test");
}

TEST_P(StateStoreConformance, OtherSchemaVersionIsRefusedWithAClearMessage) {
  stockade::v1::SchemaRecord future;
  future.set_schema_version(kStateSchemaVersion + 1);
  future.set_created_by("9.9.9");
  ASSERT_TRUE(PutRecord(*store_, RecordKind::kMeta, std::string(kSchemaVersionKey), future,
                        Durability::kSync)
                  .ok());
  absl::Status s = CheckOrInitSchema(*store_, "/var/lib/stockade/db", "0.1.0");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("schema version 2"), absl::string_view::npos) << s;
  EXPECT_NE(s.message().find("/var/lib/stockade/db"), absl::string_view::npos) << s;
}

TEST_P(StateStoreConformance, RecordsWithoutSchemaAreRefused) {
  ASSERT_TRUE(store_->Put(RecordKind::kPod, "p", "v", Durability::kSync).ok());
  EXPECT_EQ(CheckOrInitSchema(*store_, "x", "0.1.0").code(), absl::StatusCode::kDataLoss);
}

TEST_P(StateStoreConformance, ConcurrentWritersAllLand) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < 50; ++i) {
        ASSERT_TRUE(store_
                        ->Put(RecordKind::kContainer,
                              "t" + std::to_string(t) + "/" + std::to_string(i), "v",
                              Durability::kBuffered)
                        .ok());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(store_->List(RecordKind::kContainer, "")->size(), 200u);
}

INSTANTIATE_TEST_SUITE_P(
    AllStores, StateStoreConformance,
    ::testing::Values(StoreFactory{"Memory",
                                   [](const std::string&) {
                                     return std::make_unique<MemoryStateStore>();
                                   }},
                      StoreFactory{"RocksDb",
                                   [](const std::string& dir) {
                                     absl::StatusOr<std::unique_ptr<StateStore>> s =
                                         OpenRocksDbStateStore(dir);
                                     EXPECT_TRUE(s.ok()) << s.status();
                                     return s.ok() ? *std::move(s) : nullptr;
                                   }}),
    [](const ::testing::TestParamInfo<StoreFactory>& info) { return info.param.name; });

TEST(RocksDbStateStore, SecondOpenOfTheSameDirIsRefused) {
  testing::TempDir dir;
  absl::StatusOr<std::unique_ptr<StateStore>> first = OpenRocksDbStateStore(dir.Sub("db"));
  ASSERT_TRUE(first.ok());
  absl::StatusOr<std::unique_ptr<StateStore>> second = OpenRocksDbStateStore(dir.Sub("db"));
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition) << second.status();
}

TEST(RocksDbStateStore, DataSurvivesReopen) {
  testing::TempDir dir;
  {
    absl::StatusOr<std::unique_ptr<StateStore>> store = OpenRocksDbStateStore(dir.Sub("db"));
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)->Put(RecordKind::kPod, "p", "v", Durability::kSync).ok());
    ASSERT_TRUE((*store)->Put(RecordKind::kImage, "i", "w", Durability::kBuffered).ok());
  }
  absl::StatusOr<std::unique_ptr<StateStore>> reopened = OpenRocksDbStateStore(dir.Sub("db"));
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ(*(*reopened)->Get(RecordKind::kPod, "p"), "v");
  EXPECT_EQ(*(*reopened)->Get(RecordKind::kImage, "i"), "w");
}

TEST(MemoryStateStore, InjectedWriteFailureChangesNothing) {
  MemoryStateStore store;
  store.FailNextWrite(absl::UnavailableError("disk gone"));
  EXPECT_TRUE(absl::IsUnavailable(store.Put(RecordKind::kPod, "p", "v", Durability::kSync)));
  EXPECT_TRUE(absl::IsNotFound(store.Get(RecordKind::kPod, "p").status()));
  EXPECT_TRUE(store.Put(RecordKind::kPod, "p", "v", Durability::kSync).ok());
  EXPECT_EQ(store.sync_writes(), 1);
}

}  // namespace
}  // namespace stockade
