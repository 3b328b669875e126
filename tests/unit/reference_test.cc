#include "imagestore/reference.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stockade {
namespace {

std::string Normalized(const std::string& in) {
  absl::StatusOr<ImageReference> ref = ParseImageReference(in);
  EXPECT_TRUE(ref.ok()) << in << ": " << ref.status();
  return ref.ok() ? ref->String() : "";
}

const std::string kDigest =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

TEST(ImageReference, NormalisesTheDockerWay) {
  EXPECT_EQ(Normalized("busybox"), "docker.io/library/busybox:latest");
  EXPECT_EQ(Normalized("busybox:1.36"), "docker.io/library/busybox:1.36");
  EXPECT_EQ(Normalized("library/busybox"), "docker.io/library/busybox:latest");
  EXPECT_EQ(Normalized("grafana/grafana"), "docker.io/grafana/grafana:latest");
  EXPECT_EQ(Normalized("docker.io/busybox"), "docker.io/library/busybox:latest");
  EXPECT_EQ(Normalized("index.docker.io/library/busybox"), "docker.io/library/busybox:latest");
  EXPECT_EQ(Normalized("registry.k8s.io/pause:3.9"), "registry.k8s.io/pause:3.9");
  EXPECT_EQ(Normalized("localhost/app"), "localhost/app:latest");
  EXPECT_EQ(Normalized("localhost:5000/a/b/c:v1"), "localhost:5000/a/b/c:v1");
  EXPECT_EQ(Normalized("127.0.0.1:5000/stockade-test/busybox:1.0"),
            "127.0.0.1:5000/stockade-test/busybox:1.0");
  EXPECT_EQ(Normalized("[::1]:5000/x"), "[::1]:5000/x:latest");
  EXPECT_EQ(Normalized("a__b/c.d-e---f"), "docker.io/a__b/c.d-e---f:latest");
}

TEST(ImageReference, DigestReferencesKeepNoDefaultTag) {
  absl::StatusOr<ImageReference> ref = ParseImageReference("busybox@" + kDigest);
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(ref->tag, "");
  EXPECT_EQ(ref->digest, kDigest);
  EXPECT_EQ(ref->String(), "docker.io/library/busybox@" + kDigest);
  EXPECT_EQ(ref->TagReference(), "");
  EXPECT_EQ(ref->DigestReference(), "docker.io/library/busybox@" + kDigest);

  ref = ParseImageReference("localhost:5000/x:v2@" + kDigest);
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->tag, "v2");
  EXPECT_EQ(ref->domain, "localhost:5000");
}

TEST(ImageReference, RefusesWhatDockerRefuses) {
  for (const std::string& bad :
       {std::string(""), std::string("Busybox"), std::string("busybox:"), std::string("busybox:-x"),
        std::string("busybox@sha256:abc"), std::string("busybox@md5:0123"), std::string("a//b"),
        std::string("a/b/"), std::string("-a"), std::string("a_-b"), std::string(":tag"),
        std::string("bad host!/x"), std::string("host:99999999/x"),
        std::string("busybox:" + std::string(129, 't')),
        std::string("x/" + std::string(300, 'a'))}) {
    absl::StatusOr<ImageReference> ref = ParseImageReference(bad);
    EXPECT_EQ(ref.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_THAT(std::string(ParseImageReference("docker.io/Busybox").status().message()),
              ::testing::HasSubstr("lowercase"));
}

}  // namespace
}  // namespace stockade
