// Pulls that stall, are killed or share their layers, against a registry that can stop
// sending a layer half-way: the daemon killed mid-pull, SIGTERM during a pull, concurrent pulls
// sharing transfers, and the puller process killed or fed garbage.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/run_command.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "imagestore/digest.h"
#include "runtime/v1/api.grpc.pb.h"
#include "tests/support/daemon_process.h"
#include "tests/support/fake_http_server.h"
#include "tests/support/files.h"
#include "tests/support/tar_builder.h"
#include "tests/support/temp_dir.h"

namespace stockade::testing {
namespace {

using ::testing::HasSubstr;
namespace v1 = ::runtime::v1;
using stockade::Sha256;

grpc::Status Pull(DaemonProcess& daemon, const std::string& image, int seconds = 60) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  v1::PullImageRequest req;
  req.mutable_image()->set_image(image);
  v1::PullImageResponse resp;
  return v1::ImageService::NewStub(daemon.Channel())->PullImage(&ctx, req, &resp);
}

// A layer is being unpacked: its temp dir is in layers/.
bool Unpacking(const std::string& images_dir) {
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(images_dir + "/layers", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (absl::StartsWith(it->path().filename().string(), "tmp-")) return true;
  }
  return false;
}

// No blob being written, no layer being unpacked, no layer published.
void ExpectNothingHalfMade(const std::string& images_dir) {
  EXPECT_TRUE(std::filesystem::is_empty(images_dir + "/content/ingest"));
  for (const auto& entry : std::filesystem::directory_iterator(images_dir + "/layers")) {
    EXPECT_FALSE(absl::StartsWith(entry.path().filename().string(), "tmp-")) << entry.path();
  }
  EXPECT_TRUE(std::filesystem::is_empty(images_dir + "/layers/sha256"));
}

// A registry that serves two small images with one layer in common (tags 1 and 2: their
// configs differ) and, while `stall` is set, stops sending that layer half-way: a pull that is
// still running when the daemon or its puller is killed.
class StallingRegistry {
 public:
  StallingRegistry()
      : layer_(TarBuilder().File("payload", std::string(2 << 20, 'p')).Finish()),
        layer_digest_(Sha256::Of(layer_).String()),
        configs_{Config("1"), Config("2")},
        manifests_{Manifest(configs_[0]), Manifest(configs_[1])},
        server_([this](const FakeRequest& r) { return Answer(r); }) {}

  std::string Ref(const std::string& tag = "1") const {
    return "127.0.0.1:" + std::to_string(server_.port()) + "/stall/app:" + tag;
  }
  int LayerFetches() const {
    int n = 0;
    for (const FakeRequest& r : server_.requests()) n += absl::EndsWith(r.path, layer_digest_);
    return n;
  }
  std::atomic<bool> stall{true};
  std::atomic<int> stall_ms{120000};

 private:
  std::string Config(const std::string& tag) const {
    return R"({"architecture":"amd64","os":"linux","config":{"Env":["IMAGE=)" + tag +
           R"("]},"rootfs":{"type":"layers","diff_ids":[")" + layer_digest_ + R"("]}})";
  }
  std::string Manifest(const std::string& config) const {
    return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
           R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
           Sha256::Of(config).String() + R"(","size":)" + std::to_string(config.size()) +
           R"(},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":")" +
           layer_digest_ + R"(","size":)" + std::to_string(layer_.size()) + "}]}";
  }
  FakeResponse Answer(const FakeRequest& r) {
    if (r.path == "/v2/") return FakeResponse{200, {}, "{}"};
    for (int i = 0; i < 2; ++i) {
      if (absl::EndsWith(r.path, "/manifests/" + std::to_string(i + 1))) {
        return FakeResponse{
            200, {{"Content-Type", "application/vnd.oci.image.manifest.v1+json"}}, manifests_[i]};
      }
      if (absl::EndsWith(r.path, Sha256::Of(configs_[i]).String())) {
        return FakeResponse{200, {}, configs_[i]};
      }
    }
    if (absl::EndsWith(r.path, layer_digest_)) {
      FakeResponse resp{200, {}, layer_};
      if (stall) {
        resp.stall_after = 1 << 20;
        resp.stall_ms = stall_ms;
      }
      return resp;
    }
    return FakeResponse{404, {}, R"({"errors":[{"code":"NOT_FOUND"}]})"};
  }

  std::string layer_, layer_digest_;
  std::string configs_[2], manifests_[2];
  FakeHttpServer server_;
};

TEST(ImageCrashTest, KillDuringAPullLeavesNothingVisibleAndTheNextPullSucceeds) {
  StallingRegistry registry;
  TempDir dir;
  DaemonProcess daemon(dir.path());
  ASSERT_TRUE(daemon.Start()) << daemon.Stderr();
  const std::string images_dir = daemon.state_dir + "/images";
  std::thread puller([&] {
    Pull(daemon, registry.Ref(), 30);  // fails when the daemon dies
  });
  auto in_progress = [&] {
    std::error_code ec;
    return !std::filesystem::is_empty(images_dir + "/content/ingest", ec) && !ec &&
           Unpacking(images_dir);
  };
  ASSERT_TRUE(WaitFor(in_progress, absl::Seconds(20))) << daemon.Stderr();
  EXPECT_EQ(daemon.Stop(SIGKILL), -1);
  puller.join();

  registry.stall = false;
  ASSERT_TRUE(daemon.Start()) << daemon.Stderr();
  ExpectNothingHalfMade(images_dir);
  grpc::Status s = Pull(daemon, registry.Ref());
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(
      std::filesystem::file_size(
          images_dir + "/layers/sha256/" +
          std::string(absl::StripPrefix(
              Sha256::Of(TarBuilder().File("payload", std::string(2 << 20, 'p')).Finish()).String(),
              "sha256:")) +
          "/payload"),
      2u << 20);
}

// SIGTERM while a pull runs: it finishes if it can within grpc.shutdown_timeout, and is
// abandoned (and cleaned up at the next start) if it cannot.
TEST(ShutdownTest, InFlightPullsFinishWithinTheBoundOrAreAbandoned) {
  for (const bool finishes : {true, false}) {
    StallingRegistry registry;
    registry.stall_ms = finishes ? 1500 : 120000;
    TempDir dir;
    DaemonProcess daemon(dir.path());
    daemon.config_yaml =
        finishes ? "grpc: {shutdown_timeout: 30s}\n" : "grpc: {shutdown_timeout: 1s}\n";
    ASSERT_TRUE(daemon.Start()) << daemon.Stderr();
    grpc::Status result;
    std::thread puller([&] { result = Pull(daemon, registry.Ref()); });
    const std::string ingest = daemon.state_dir + "/images/content/ingest";
    ASSERT_TRUE(WaitFor(
        [&] {
          std::error_code ec;
          return !std::filesystem::is_empty(ingest, ec) && !ec;
        },
        absl::Seconds(20)));
    const absl::Time start = absl::Now();
    EXPECT_EQ(daemon.Stop(SIGTERM, absl::Seconds(40)), 0) << daemon.Stderr();
    puller.join();
    if (finishes) {
      EXPECT_TRUE(result.ok()) << result.error_message();
    } else {
      EXPECT_FALSE(result.ok());
      EXPECT_LT(absl::Now() - start, absl::Seconds(10));
      EXPECT_THAT(daemon.Stderr(), HasSubstr("abandoned"));
      // The next start discards the half-done pull.
      ASSERT_TRUE(daemon.Start()) << daemon.Stderr();
      EXPECT_TRUE(std::filesystem::is_empty(ingest));
    }
  }
}

TEST(ImageDedupTest, ConcurrentPullsFetchEachLayerOnce) {
  StallingRegistry registry;
  registry.stall = false;
  TempDir dir;
  DaemonProcess daemon(dir.path());
  ASSERT_TRUE(daemon.Start()) << daemon.Stderr();
  std::vector<std::thread> pullers;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    pullers.emplace_back([&] { ok += Pull(daemon, registry.Ref()).ok(); });
  }
  for (std::thread& t : pullers) t.join();
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(registry.LayerFetches(), 1);
}

// Two images that share a layer, pulled at once: each pull runs in a puller process of its
// own, and the second waits for the first's transfer of the layer instead of fetching it too
// (the layer stalls for 0.8 s, so the two transfers would overlap).
// The daemon itself never maps the registry client's or the unpacker's libraries.
TEST(ImageDedupTest, PullsOfTwoImagesThatShareALayerFetchItOnce) {
  StallingRegistry registry;
  registry.stall_ms = 800;  // the first transfer is still running when the second pull starts
  TempDir dir;
  DaemonProcess daemon(dir.path());
  ASSERT_TRUE(daemon.Start()) << daemon.Stderr();
  std::vector<std::thread> pullers;
  std::atomic<int> ok{0};
  for (const std::string tag : {"1", "2"}) {
    pullers.emplace_back([&, tag] {
      grpc::Status s = Pull(daemon, registry.Ref(tag));
      EXPECT_TRUE(s.ok()) << s.error_message();
      ok += s.ok();
    });
  }
  for (std::thread& t : pullers) t.join();
  EXPECT_EQ(ok.load(), 2);
  EXPECT_EQ(registry.LayerFetches(), 1);
  v1::ListImagesRequest list_req;
  v1::ListImagesResponse list;
  grpc::ClientContext ctx;
  ASSERT_TRUE(v1::ImageService::NewStub(daemon.Channel())->ListImages(&ctx, list_req, &list).ok());
  EXPECT_EQ(list.images_size(), 2) << "two images, one layer";
  EXPECT_TRUE(std::filesystem::is_empty(daemon.state_dir + "/images/content/ingest"));

  const std::string maps = ReadFile(absl::StrCat("/proc/", daemon.pid(), "/maps"));
  ASSERT_TRUE(absl::StrContains(maps, "libc.so"));
  for (const char* library : {"libcurl", "libarchive", "libisal"}) {
    EXPECT_FALSE(absl::StrContains(maps, library)) << "the daemon maps " << library;
  }
}

// A puller that dies mid-pull (the OOM killer, a crash in a decompressor): the pull fails with
// an error that says so, nothing it wrote is left, and the next pull succeeds.
TEST(ImagePullerTest, AKilledPullerFailsThePullAndLeavesNothing) {
  StallingRegistry registry;
  TempDir dir;
  DaemonProcess daemon(dir.path());
  ASSERT_TRUE(daemon.Start()) << daemon.Stderr();
  const std::string images_dir = daemon.state_dir + "/images";
  grpc::Status failed;
  std::thread pull([&] { failed = Pull(daemon, registry.Ref(), 30); });
  auto puller_pid = [&]() -> pid_t {
    for (const auto& e : std::filesystem::directory_iterator("/proc")) {
      const std::string name = e.path().filename().string();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      const std::string stat = ReadFile(e.path().string() + "/stat");
      const size_t paren = stat.rfind(')');
      if (paren == std::string::npos || stat.find("(stockade-puller)") == std::string::npos)
        continue;
      int ppid = 0;
      char state = 0;
      if (std::sscanf(stat.c_str() + paren + 1, " %c %d", &state, &ppid) == 2 &&
          ppid == daemon.pid()) {
        return std::stoi(name);
      }
    }
    return -1;
  };
  ASSERT_TRUE(WaitFor([&] { return Unpacking(images_dir); }, absl::Seconds(20))) << daemon.Stderr();
  const pid_t pid = puller_pid();
  ASSERT_GT(pid, 0) << "no stockade-puller child of the daemon";
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  pull.join();
  EXPECT_EQ(failed.error_code(), grpc::StatusCode::INTERNAL) << failed.error_message();
  EXPECT_THAT(failed.error_message(), HasSubstr("was killed by signal 9"));
  EXPECT_THAT(failed.error_message(), HasSubstr(registry.Ref()));
  ExpectNothingHalfMade(images_dir);

  registry.stall = false;
  grpc::Status s = Pull(daemon, registry.Ref());
  EXPECT_TRUE(s.ok()) << s.error_message();
}

// The puller is for the daemon: by hand, or fed something that is not a request, it says so.
TEST(ImagePullerTest, SomethingThatIsNotARequestIsRefused) {
  const std::string puller =
      (std::filesystem::path(StockadedPath()).parent_path() / "stockade-puller").string();
  absl::StatusOr<CommandResult> r = RunCommand({puller}, "{\"reference\": \"busybox\"}");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 2);
  EXPECT_THAT(r->err, HasSubstr("stockade-puller: pull request: \"config\" is missing"));
  EXPECT_EQ(r->out, "");
  r = RunCommand({puller}, "");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 2);
  EXPECT_THAT(r->err, HasSubstr("not meant to be run by hand"));
}

}  // namespace
}  // namespace stockade::testing
