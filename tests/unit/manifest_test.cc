#include "imagestore/manifest.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stockade {
namespace {

using ::testing::HasSubstr;

const std::string kD1 = "sha256:" + std::string(64, '1');
const std::string kD2 = "sha256:" + std::string(64, '2');
const std::string kD3 = "sha256:" + std::string(64, '3');

std::string IndexJson() {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",
    "manifests":[
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
         kD1 + R"(",
       "size":100,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
         kD2 + R"(",
       "size":200,"platform":{"os":"linux","architecture":"amd64"}},
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
         kD3 + R"(",
       "size":300,"platform":{"os":"freebsd","architecture":"amd64"}}]})";
}

TEST(Manifest, ClassifiesByContentTypeThenByBody) {
  EXPECT_EQ(*ClassifyManifest(media_type::kOciIndex, "{}"), ManifestKind::kIndex);
  EXPECT_EQ(*ClassifyManifest(media_type::kDockerList, "{}"), ManifestKind::kIndex);
  EXPECT_EQ(*ClassifyManifest(media_type::kDockerManifest, "{}"), ManifestKind::kImage);
  EXPECT_EQ(*ClassifyManifest("application/json", IndexJson()), ManifestKind::kIndex);
  absl::StatusOr<ManifestKind> v1 = ClassifyManifest(media_type::kDockerSchema1Signed, "{}");
  EXPECT_EQ(v1.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(v1.status().message()), HasSubstr("schema 1"));
  EXPECT_THAT(std::string(ClassifyManifest("text/html", "<html>").status().message()),
              HasSubstr("unsupported manifest media type"));
}

TEST(Manifest, PlatformSelectionFollowsPreference) {
  absl::StatusOr<ImageIndex> index = ParseImageIndex(IndexJson());
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ(SelectPlatform(*index, PlatformsFor("Linux", "x86_64"))->digest.String(), kD2);
  EXPECT_EQ(SelectPlatform(*index, PlatformsFor("Linux", "aarch64"))->digest.String(), kD1);
  EXPECT_EQ(SelectPlatform(*index, PlatformsFor("FreeBSD", "amd64"))->digest.String(), kD3);
  absl::StatusOr<Descriptor> none = SelectPlatform(*index, PlatformsFor("Linux", "s390x"));
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(none.status().message()), HasSubstr("linux/s390x"));
  EXPECT_THAT(std::string(none.status().message()), HasSubstr("linux/arm64/v8"));
}

TEST(Manifest, FreeBsdFallsBackToLinuxImages) {
  ImageIndex index;
  Descriptor linux;
  linux.media_type = media_type::kOciManifest;
  linux.digest = *Digest::Parse(kD2);
  linux.platform = Platform{"linux", "amd64", ""};
  index.manifests.push_back(linux);
  EXPECT_EQ(SelectPlatform(index, PlatformsFor("FreeBSD", "amd64"))->digest.String(), kD2);
}

TEST(Manifest, ImageManifestAndConfig) {
  const std::string manifest = R"({"schemaVersion":2,
    "mediaType":"application/vnd.oci.image.manifest.v1+json",
    "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
                               kD1 +
                               R"(","size":10},
    "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" +
                               kD2 +
                               R"(","size":20},
              {"mediaType":"application/vnd.oci.image.layer.v1.tar+zstd","digest":")" +
                               kD3 + R"(","size":30}]})";
  absl::StatusOr<ImageManifest> m = ParseImageManifest(manifest);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->config.digest.String(), kD1);
  ASSERT_EQ(m->layers.size(), 2u);
  EXPECT_EQ(*CompressionOfLayer(m->layers[1].media_type), LayerCompression::kZstd);

  const std::string config = R"({"os":"linux","architecture":"amd64",
    "config":{"User":"app","Env":["PATH=/bin"],"Entrypoint":["/bin/echo"],"Cmd":["hi"],
              "WorkingDir":"/data","Labels":{"a":"b"},"StopSignal":"SIGINT",
              "Volumes":{"/v":{}}},
    "rootfs":{"type":"layers","diff_ids":[")" +
                             kD1 + R"(",")" + kD2 + R"("]}})";
  absl::StatusOr<ImageConfig> c = ParseImageConfig(config);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->user, "app");
  EXPECT_EQ(c->entrypoint, std::vector<std::string>{"/bin/echo"});
  EXPECT_EQ(c->stop_signal, "SIGINT");
  EXPECT_EQ(c->labels.at("a"), "b");
  EXPECT_EQ(c->volumes, std::vector<std::string>{"/v"});
  EXPECT_EQ(c->diff_ids.size(), 2u);
}

TEST(Manifest, MalformedDocumentsAreRefusedWithTheReason) {
  EXPECT_THAT(std::string(ParseImageManifest("[]").status().message()), HasSubstr("not a JSON"));
  EXPECT_THAT(std::string(ParseImageManifest(R"({"layers":[]})").status().message()),
              HasSubstr("no config"));
  EXPECT_THAT(
      std::string(ParseImageManifest(R"({"config":{"digest":"sha256:x","size":1},"layers":[]})")
                      .status()
                      .message()),
      HasSubstr("64 hex"));
  EXPECT_THAT(
      std::string(ParseImageManifest(R"({"config":{"digest":")" + kD1 +
                                     R"(","size":1},"layers":[{"mediaType":"x/y","digest":")" +
                                     kD2 + R"(","size":1}]})")
                      .status()
                      .message()),
      HasSubstr("unsupported layer media type \"x/y\""));
  EXPECT_THAT(std::string(ParseImageConfig(R"({"os":"linux"})").status().message()),
              HasSubstr("rootfs"));
  const std::string huge(kMaxManifestBytes + 1, ' ');
  EXPECT_EQ(ParseImageIndex(huge).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(
      ParseImageManifest(R"({"config":{"digest":")" + kD1 + R"(","size":999999999},"layers":[]})")
          .status()
          .code(),
      absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace stockade
