#include "imagestore/content_store.h"

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace stockade {
namespace {

TEST(ContentStore, VerifiedBlobIsPublishedAndReadable) {
  testing::TempDir dir;
  auto store = ContentStore::Open(dir.path());
  ASSERT_TRUE(store.ok());
  const std::string data = "hello blob";
  const Digest digest = Sha256::Of(data);
  auto writer = (*store)->NewWriter(digest, static_cast<int64_t>(data.size()));
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Write(data.data(), 5).ok());
  EXPECT_FALSE((*store)->Has(digest));  // not visible until committed
  ASSERT_TRUE((*writer)->Write(data.data() + 5, data.size() - 5).ok());
  ASSERT_TRUE((*writer)->Commit().ok());
  EXPECT_TRUE((*store)->Has(digest));
  EXPECT_EQ(*(*store)->ReadBlob(digest, 1024), data);
  EXPECT_EQ((*store)->ReadBlob(digest, 3).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ((*store)->List()->size(), 1u);
  ASSERT_TRUE((*store)->Delete(digest).ok());
  ASSERT_TRUE((*store)->Delete(digest).ok());
  EXPECT_TRUE(absl::IsNotFound((*store)->ReadBlob(digest, 1024).status()));
}

TEST(ContentStore, WrongDigestTruncationAndOverflowAreDataLossAndLeaveNothing) {
  testing::TempDir dir;
  auto store = ContentStore::Open(dir.path());
  const Digest digest = Sha256::Of("expected");
  {
    auto w = (*store)->NewWriter(digest, 8);
    ASSERT_TRUE((*w)->Write("tampered", 8).ok());
    absl::Status s = (*w)->Commit();
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(s.message().find("failed verification"), absl::string_view::npos) << s;
  }
  {
    auto w = (*store)->NewWriter(digest, 8);
    ASSERT_TRUE((*w)->Write("expe", 4).ok());
    EXPECT_EQ((*w)->Commit().code(), absl::StatusCode::kDataLoss);
  }
  {
    auto w = (*store)->NewWriter(digest, 8);
    EXPECT_EQ((*w)->Write("expected!", 9).code(), absl::StatusCode::kDataLoss);
  }
  EXPECT_FALSE((*store)->Has(digest));
  EXPECT_TRUE(std::filesystem::is_empty(dir.Sub("ingest")));
}

TEST(ContentStore, LeftoversOfACrashedWriterAreDiscardedAtOpen) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.Sub("ingest"));
  std::ofstream(dir.Sub("ingest/abc.123")) << "partial";
  auto store = ContentStore::Open(dir.path());
  ASSERT_TRUE(store.ok());
  EXPECT_TRUE(std::filesystem::is_empty(dir.Sub("ingest")));
  EXPECT_TRUE((*store)->List()->empty());
}

TEST(Digest, ParsesOnlySha256) {
  EXPECT_TRUE(Digest::Parse("sha256:" + std::string(64, 'a')).ok());
  EXPECT_FALSE(Digest::Parse("sha256:" + std::string(64, 'A')).ok());
  EXPECT_FALSE(Digest::Parse("sha512:" + std::string(128, 'a')).ok());
  EXPECT_FALSE(Digest::Parse("sha256:abc").ok());
  EXPECT_EQ(Sha256::Of("").String(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

}  // namespace
}  // namespace stockade
