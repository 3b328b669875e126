// The puller protocol: a request and a result survive the round trip field for field, and
// what is not one is refused with an error that names the problem.
#include "imagestore/pull_request.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "common/file_lock.h"
#include "gmock/gmock.h"
#include "imagestore/content_store.h"
#include "imagestore/layer_store.h"
#include "nlohmann/json.hpp"
#include "tests/support/temp_dir.h"

namespace stockade {
namespace {

using ::testing::HasSubstr;

PullRequest FullRequest() {
  PullRequest r;
  r.config.root = "/var/lib/stockade/images";
  r.config.max_concurrent_downloads = 5;
  r.config.unpack.whiteouts = WhiteoutMode::kMarkers;
  r.config.unpack.restore_owners = true;
  r.config.unpack.allow_device_nodes = false;
  r.config.unpack.max_bytes = 12345;
  r.config.unpack.max_entries = 678;
  r.config.platforms = {{"freebsd", "amd64", ""}, {"linux", "arm", "v7"}};
  RegistryHostSettings mirror;
  mirror.mirrors = {"http://127.0.0.1:5000", "https://m.example/v2"};
  mirror.plain_http = true;
  mirror.tls.skip_verify = true;
  mirror.tls.ca_file = "/etc/ca.pem";
  mirror.tls.cert_file = "/etc/c.pem";
  mirror.tls.key_file = "/etc/k.pem";
  mirror.username = "u";
  mirror.password = "p w";
  r.config.registries["docker.io"] = mirror;
  r.config.registry_config_dir = "/etc/stockade/certs.d";
  r.config.progress_timeout = absl::Seconds(90);
  r.config.log_level = LogLevel::kDebug;
  r.config.log_format = LogFormat::kHclog;
  r.reference = "docker.io/library/busybox:1.36";
  r.creds = {"alice", "s3cret", "tok"};
  r.temp_tag = "pull42-7";
  r.parent_pid = 4242;
  return r;
}

TEST(PullRequest, RoundTripsEveryField) {
  const PullRequest in = FullRequest();
  absl::StatusOr<PullRequest> out = DecodePullRequest(EncodePullRequest(in));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->config.root, in.config.root);
  EXPECT_EQ(out->config.max_concurrent_downloads, 5);
  EXPECT_EQ(out->config.unpack.whiteouts, WhiteoutMode::kMarkers);
  EXPECT_TRUE(out->config.unpack.restore_owners);
  EXPECT_FALSE(out->config.unpack.allow_device_nodes);
  EXPECT_EQ(out->config.unpack.max_bytes, 12345u);
  EXPECT_EQ(out->config.unpack.max_entries, 678u);
  ASSERT_EQ(out->config.platforms.size(), 2u);
  EXPECT_EQ(out->config.platforms[1].os, "linux");
  EXPECT_EQ(out->config.platforms[1].architecture, "arm");
  EXPECT_EQ(out->config.platforms[1].variant, "v7");
  ASSERT_EQ(out->config.registries.count("docker.io"), 1u);
  const RegistryHostSettings& m = out->config.registries.at("docker.io");
  EXPECT_EQ(m.mirrors, in.config.registries.at("docker.io").mirrors);
  EXPECT_TRUE(m.plain_http);
  EXPECT_TRUE(m.tls.skip_verify);
  EXPECT_EQ(m.tls.ca_file, "/etc/ca.pem");
  EXPECT_EQ(m.tls.cert_file, "/etc/c.pem");
  EXPECT_EQ(m.tls.key_file, "/etc/k.pem");
  EXPECT_EQ(m.username, "u");
  EXPECT_EQ(m.password, "p w");
  EXPECT_EQ(out->config.registry_config_dir, "/etc/stockade/certs.d");
  EXPECT_EQ(out->config.progress_timeout, absl::Seconds(90));
  EXPECT_EQ(out->config.log_level, LogLevel::kDebug);
  EXPECT_EQ(out->config.log_format, LogFormat::kHclog);
  EXPECT_EQ(out->reference, in.reference);
  EXPECT_EQ(out->creds.username, "alice");
  EXPECT_EQ(out->creds.password, "s3cret");
  EXPECT_EQ(out->creds.registry_token, "tok");
  EXPECT_EQ(out->temp_tag, "pull42-7");
  EXPECT_EQ(out->parent_pid, 4242);
}

TEST(PullRequest, WhatIsNotARequestIsRefusedByName) {
  EXPECT_THAT(DecodePullRequest("").status().message(), HasSubstr("not a JSON object"));
  EXPECT_THAT(DecodePullRequest("[1]").status().message(), HasSubstr("not a JSON object"));
  nlohmann::json j = nlohmann::json::parse(EncodePullRequest(FullRequest()));
  auto refused = [](const nlohmann::json& v) {
    absl::StatusOr<PullRequest> r = DecodePullRequest(v.dump());
    EXPECT_TRUE(absl::IsInvalidArgument(r.status()));
    return std::string(r.status().message());
  };
  nlohmann::json missing = j;
  missing["config"].erase("root");
  EXPECT_THAT(refused(missing), HasSubstr("\"root\" is missing"));
  nlohmann::json mistyped = j;
  mistyped["config"]["max_concurrent_downloads"] = "five";
  EXPECT_THAT(refused(mistyped), HasSubstr("\"max_concurrent_downloads\" has the wrong type"));
  nlohmann::json relative = j;
  relative["config"]["root"] = "images";
  EXPECT_THAT(refused(relative), HasSubstr("absolute"));
  nlohmann::json whiteouts = j;
  whiteouts["config"]["unpack"]["whiteouts"] = "aufs";
  EXPECT_THAT(refused(whiteouts), HasSubstr("aufs"));
  nlohmann::json tag = j;
  tag["temp_tag"] = "../x";  // names files: letters, digits and '-' only
  EXPECT_THAT(refused(tag), HasSubstr("temp_tag"));
  nlohmann::json level = j;
  level["config"]["log_level"] = "loud";
  EXPECT_THAT(refused(level), HasSubstr("loud"));
  nlohmann::json timeout = j;
  timeout["config"]["progress_timeout_ms"] = 0;
  EXPECT_THAT(refused(timeout), HasSubstr("progress_timeout_ms"));
}

TEST(PullResult, CarriesWhatWasFetchedOrTheErrorAsItWas) {
  FetchedImage fetched;
  fetched.top_digest = Sha256::Of("index");
  fetched.manifest_blobs = {Sha256::Of("index"), Sha256::Of("manifest")};
  fetched.manifest_digest = Sha256::Of("manifest");
  absl::StatusOr<FetchedImage> back = DecodePullResult(EncodePullResult(fetched));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->top_digest, fetched.top_digest);
  EXPECT_EQ(back->manifest_blobs, fetched.manifest_blobs);
  EXPECT_EQ(back->manifest_digest, fetched.manifest_digest);

  absl::StatusOr<FetchedImage> error = DecodePullResult(
      EncodePullResult(absl::NotFoundError("127.0.0.1:5000/app:1: manifest unknown")));
  EXPECT_TRUE(absl::IsNotFound(error.status()));
  EXPECT_EQ(error.status().message(), "127.0.0.1:5000/app:1: manifest unknown");

  for (const char* garbage :
       {"", "null", R"({"code":0})", R"({"code":99,"message":"x"})", R"({"code":5})",
        R"({"code":0,"top_digest":"sha256:zz",)"
        R"("manifest_blobs":[],"manifest_digest":"x"})"}) {
    absl::StatusOr<FetchedImage> r = DecodePullResult(garbage);
    EXPECT_TRUE(absl::IsInternal(r.status())) << garbage << ": " << r.status();
    EXPECT_THAT(r.status().message(), HasSubstr("not a pull result")) << garbage;
  }
}

// A dead puller's files: what carries its tag goes, and so do lock files nobody holds; another
// puller's files and a held lock stay.
TEST(PullerTemps, RemoveTempsTakesOnlyTheDeadPullersFiles) {
  testing::TempDir dir;
  ASSERT_TRUE(ContentStore::Open(dir.path() + "/content").ok());
  ASSERT_TRUE(LayerStore::Open(dir.path() + "/layers").ok());
  absl::StatusOr<std::unique_ptr<ContentStore>> dead =
      ContentStore::Attach(dir.path() + "/content", "pull1-1");
  absl::StatusOr<std::unique_ptr<ContentStore>> alive =
      ContentStore::Attach(dir.path() + "/content", "pull1-2");
  absl::StatusOr<std::unique_ptr<LayerStore>> dead_layers =
      LayerStore::Attach(dir.path() + "/layers", "pull1-1");
  absl::StatusOr<std::unique_ptr<LayerStore>> alive_layers =
      LayerStore::Attach(dir.path() + "/layers", "pull1-2");
  ASSERT_TRUE(dead.ok() && alive.ok() && dead_layers.ok() && alive_layers.ok());
  auto dead_writer = (*dead)->NewWriter(Sha256::Of("a"), 1);
  auto alive_writer = (*alive)->NewWriter(Sha256::Of("b"), 1);
  ASSERT_TRUE(dead_writer.ok() && alive_writer.ok());
  absl::StatusOr<std::string> dead_dir = (*dead_layers)->NewTempDir();
  absl::StatusOr<std::string> alive_dir = (*alive_layers)->NewTempDir();
  ASSERT_TRUE(dead_dir.ok() && alive_dir.ok());
  std::ofstream(dir.path() + "/content/ingest/lock-layer-left");  // a killed holder's
  absl::StatusOr<FileLock> held = (*alive)->LockTransfer("layer", Sha256::Of("held"));
  ASSERT_TRUE(held.ok());

  ContentStore::RemoveTemps(dir.path() + "/content", "pull1-1");
  LayerStore::RemoveTemps(dir.path() + "/layers", "pull1-1");

  std::vector<std::string> ingest;
  for (const auto& e : std::filesystem::directory_iterator(dir.path() + "/content/ingest")) {
    ingest.push_back(e.path().filename().string());
  }
  ASSERT_EQ(ingest.size(), 2u) << ::testing::PrintToString(ingest);
  EXPECT_EQ(std::count_if(ingest.begin(), ingest.end(),
                          [](const std::string& n) { return absl::StartsWith(n, "pull1-2."); }),
            1);
  EXPECT_EQ(std::count_if(ingest.begin(), ingest.end(),
                          [](const std::string& n) {
                            return absl::StartsWith(n, "lock-layer-") && n != "lock-layer-left";
                          }),
            1);
  EXPECT_FALSE(std::filesystem::exists(*dead_dir));
  EXPECT_TRUE(std::filesystem::exists(*alive_dir));
  EXPECT_THAT(*alive_dir, HasSubstr("/tmp-pull1-2-"));
}

}  // namespace
}  // namespace stockade
