#include "cni/network_config_discovery.h"

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace stockade {
namespace {

using ::testing::HasSubstr;

void Write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

TEST(NetworkConfigDiscovery, MissingOrEmptyDirIsNotFound) {
  testing::TempDir dir;
  EXPECT_TRUE(absl::IsNotFound(DiscoverNetworkConfig(dir.Sub("absent")).status()));
  EXPECT_TRUE(absl::IsNotFound(DiscoverNetworkConfig(dir.path()).status()));
  Write(dir.Sub("README"), "not a config");
  EXPECT_TRUE(absl::IsNotFound(DiscoverNetworkConfig(dir.path()).status()));
}

TEST(NetworkConfigDiscovery, FirstValidFileInLexicalOrderWins) {
  testing::TempDir dir;
  Write(dir.Sub("20-second.conflist"),
        R"({"cniVersion":"1.0.0","name":"second","plugins":[{"type":"bridge"}]})");
  Write(dir.Sub("10-first.conf"), R"({"cniVersion":"0.4.0","name":"first","type":"bridge"})");
  absl::StatusOr<DiscoveredNetwork> net = DiscoverNetworkConfig(dir.path());
  ASSERT_TRUE(net.ok()) << net.status();
  EXPECT_EQ(net->name, "first");
  EXPECT_FALSE(net->is_list);
  EXPECT_EQ(net->cni_version, "0.4.0");
}

TEST(NetworkConfigDiscovery, MalformedFirstFileIsSkippedForAValidOne) {
  testing::TempDir dir;
  Write(dir.Sub("00-broken.conflist"), "{not json");
  Write(dir.Sub("10-good.conflist"),
        R"({"cniVersion":"1.0.0","name":"good","plugins":[{"type":"stockade-bridge"}]})");
  absl::StatusOr<DiscoveredNetwork> net = DiscoverNetworkConfig(dir.path());
  ASSERT_TRUE(net.ok()) << net.status();
  EXPECT_EQ(net->name, "good");
  EXPECT_TRUE(net->is_list);
}

TEST(NetworkConfigDiscovery, OnlyMalformedFilesReportTheFirstFileAndProblem) {
  testing::TempDir dir;
  Write(dir.Sub("10-a.conflist"), R"({"cniVersion":"1.0.0","name":"a","plugins":[]})");
  Write(dir.Sub("20-b.conf"), "[]");
  absl::StatusOr<DiscoveredNetwork> net = DiscoverNetworkConfig(dir.path());
  ASSERT_EQ(net.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(net.status().message()), HasSubstr("10-a.conflist"));
  EXPECT_THAT(std::string(net.status().message()), HasSubstr("plugins"));
}

TEST(NetworkConfigDiscovery, EachShapeProblemIsNamed) {
  EXPECT_THAT(std::string(ParseNetworkConfig("x.conf", "{").status().message()),
              HasSubstr("not valid JSON"));
  EXPECT_THAT(std::string(ParseNetworkConfig("x.conf", R"({"type":"bridge"})").status().message()),
              HasSubstr("no \"name\""));
  EXPECT_THAT(std::string(ParseNetworkConfig("x.conf", R"({"name":"n"})").status().message()),
              HasSubstr("no \"type\""));
  EXPECT_THAT(
      std::string(
          ParseNetworkConfig("x.conflist", R"({"name":"n","plugins":[{}]})").status().message()),
      HasSubstr("plugins[0]"));
}

}  // namespace
}  // namespace stockade
