// The CRI ImageService of the real stockaded against a real registry on 127.0.0.1.
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "runtime/v1/api.grpc.pb.h"
#include "tests/support/daemon_process.h"
#include "tests/support/fake_http_server.h"
#include "tests/support/files.h"
#include "tests/support/test_registry.h"

namespace stockade::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace v1 = ::runtime::v1;

std::unique_ptr<grpc::ClientContext> Ctx(int seconds = 60) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return ctx;
}

class ImageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string error;
    registry_ = TestRegistry::Start("", "", &error).release();
    ASSERT_NE(registry_, nullptr) << error;
  }
  static void TearDownTestSuite() {
    delete registry_;
    registry_ = nullptr;
  }

  void StartDaemon(const std::string& extra_yaml = "") {
    ASSERT_NE(registry_, nullptr);
    daemon_ = std::make_unique<DaemonProcess>(dir_.path());
    daemon_->config_yaml = extra_yaml;
    ASSERT_TRUE(daemon_->Start()) << daemon_->Stderr();
    images_ = v1::ImageService::NewStub(daemon_->Channel());
  }

  grpc::Status Pull(const std::string& image, v1::PullImageResponse* resp,
                    const v1::AuthConfig* auth = nullptr) {
    v1::PullImageRequest req;
    req.mutable_image()->set_image(image);
    if (auth != nullptr) *req.mutable_auth() = *auth;
    return images_->PullImage(Ctx().get(), req, resp);
  }

  v1::ImageStatusResponse Status(const std::string& image, bool verbose = false) {
    v1::ImageStatusRequest req;
    req.mutable_image()->set_image(image);
    req.set_verbose(verbose);
    v1::ImageStatusResponse resp;
    grpc::Status s = images_->ImageStatus(Ctx().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  grpc::Status Remove(const std::string& image) {
    v1::RemoveImageRequest req;
    req.mutable_image()->set_image(image);
    v1::RemoveImageResponse resp;
    return images_->RemoveImage(Ctx().get(), req, &resp);
  }

  std::string ImagesDir() const { return daemon_->state_dir + "/images"; }
  size_t CountEntries(const std::string& dir) const {
    std::error_code ec;
    size_t n = 0;
    for (auto it = std::filesystem::directory_iterator(dir, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      ++n;
    }
    return n;
  }

  static TestRegistry* registry_;
  TempDir dir_;
  std::unique_ptr<DaemonProcess> daemon_;
  std::unique_ptr<v1::ImageService::Stub> images_;
};

TestRegistry* ImageTest::registry_ = nullptr;

TEST_F(ImageTest, PullByTagThenStatusListFsInfoAndRemove) {
  StartDaemon();
  const nlohmann::json& expected = registry_->Image("stockade-test/busybox:1.0");
  const std::string ref = registry_->Ref("stockade-test/busybox:1.0");
  v1::PullImageResponse pulled;
  grpc::Status s = Pull(ref, &pulled);
  ASSERT_TRUE(s.ok()) << s.error_message() << "\n" << daemon_->Stderr();
  EXPECT_EQ(pulled.image_ref(), expected["config_digest"]);

  v1::ImageStatusResponse status = Status(ref, /*verbose=*/true);
  ASSERT_TRUE(status.has_image());
  const v1::Image& image = status.image();
  EXPECT_EQ(image.id(), expected["config_digest"]);
  EXPECT_THAT(image.repo_tags(), ElementsAre(ref));
  EXPECT_THAT(image.repo_digests(), ElementsAre(registry_->Ref("stockade-test/busybox@") +
                                                expected["manifest_digest"].get<std::string>()));
  uint64_t size = expected["config_size"].get<uint64_t>();
  for (const auto& layer : expected["layers"]) size += layer["size"].get<uint64_t>();
  EXPECT_EQ(image.size(), size);
  EXPECT_EQ(image.username(), "app");
  EXPECT_FALSE(image.has_uid());

  // By id, id prefix and digest reference too.
  EXPECT_EQ(Status(image.id()).image().id(), image.id());
  EXPECT_EQ(Status(image.id().substr(7, 12)).image().id(), image.id());
  EXPECT_EQ(Status(image.repo_digests(0)).image().id(), image.id());

  // The unpacked layers, as overlay lower dirs: files, links, whiteouts, opaque dir.
  nlohmann::json info = nlohmann::json::parse(status.info().at("info"));
  EXPECT_EQ(info["imageSpec"]["config"]["User"], "app");
  const std::vector<std::string> layers = info["layerDirs"];
  ASSERT_EQ(layers.size(), 3u);
  EXPECT_TRUE(std::filesystem::is_regular_file(layers[0] + "/bin/busybox"));
  EXPECT_EQ(std::filesystem::read_symlink(layers[0] + "/bin/sh"), "busybox");
  EXPECT_EQ(ReadFile(layers[1] + "/data/hello.txt"), "hello from layer 2\n");
  struct stat st;
  ASSERT_EQ(::stat((layers[0] + "/home/app").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1000u);
  ASSERT_EQ(::lstat((layers[2] + "/data/remove-me.txt").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) << "overlay whiteout";
  char opaque = 0;
  EXPECT_EQ(::getxattr((layers[2] + "/data/dir").c_str(), "trusted.overlay.opaque", &opaque, 1), 1);

  v1::ListImagesResponse list;
  ASSERT_TRUE(images_->ListImages(Ctx().get(), v1::ListImagesRequest(), &list).ok());
  ASSERT_EQ(list.images_size(), 1);
  EXPECT_EQ(list.images(0).id(), image.id());

  v1::ImageFsInfoResponse fs;
  ASSERT_TRUE(images_->ImageFsInfo(Ctx().get(), v1::ImageFsInfoRequest(), &fs).ok());
  ASSERT_EQ(fs.image_filesystems_size(), 1);
  EXPECT_EQ(fs.image_filesystems(0).fs_id().mountpoint(), ImagesDir());
  EXPECT_GT(fs.image_filesystems(0).used_bytes().value(), 2'000'000u);
  EXPECT_GT(fs.image_filesystems(0).inodes_used().value(), 20u);
  EXPECT_GT(fs.image_filesystems(0).timestamp(), 0);

  // Removing by tag removes the whole image and what only it used; again is fine.
  ASSERT_TRUE(Remove(ref).ok());
  EXPECT_FALSE(Status(image.id()).has_image());
  EXPECT_EQ(CountEntries(ImagesDir() + "/content/blobs/sha256"), 0u);
  EXPECT_EQ(CountEntries(ImagesDir() + "/layers/sha256"), 0u);
  EXPECT_TRUE(Remove(ref).ok());
  EXPECT_TRUE(Remove(image.id()).ok());
}

TEST_F(ImageTest, UnknownImageStatusIsEmptyNotAnError) {
  StartDaemon();
  EXPECT_FALSE(Status("never/pulled:1").has_image());
}

TEST_F(ImageTest, PullByDigestRecordsNoTag) {
  StartDaemon();
  const nlohmann::json& expected = registry_->Image("stockade-test/plain:1.0");
  const std::string ref =
      registry_->Ref("stockade-test/plain@") + expected["manifest_digest"].get<std::string>();
  v1::PullImageResponse pulled;
  ASSERT_TRUE(Pull(ref, &pulled).ok());
  v1::ImageStatusResponse status = Status(ref);
  EXPECT_EQ(status.image().repo_tags_size(), 0);
  EXPECT_THAT(status.image().repo_digests(), ElementsAre(ref));
}

TEST_F(ImageTest, IndexesListsZstdAndPlainLayersAllPull) {
  StartDaemon();
  const nlohmann::json& busybox = registry_->Image("stockade-test/busybox:1.0");
  for (const std::string name :
       {"stockade-test/multi:1.0", "stockade-test/docker:1.0", "stockade-test/docker-list:1.0",
        "stockade-test/zstd:1.0", "stockade-test/plain:1.0"}) {
    v1::PullImageResponse pulled;
    grpc::Status s = Pull(registry_->Ref(name), &pulled);
    ASSERT_TRUE(s.ok()) << name << ": " << s.error_message();
    const nlohmann::json& expected = registry_->Image(name);
    if (expected["config_digest"].is_string()) {
      EXPECT_EQ(pulled.image_ref(), expected["config_digest"]) << name;
    } else {
      // Index and list: linux/amd64 is the busybox image; RepoDigests name the index.
      EXPECT_EQ(pulled.image_ref(), busybox["config_digest"]) << name;
      const std::string repo = registry_->Ref(name.substr(0, name.find(':')));
      EXPECT_THAT(Status(registry_->Ref(name)).image().repo_digests(),
                  ::testing::Contains(repo + "@" + expected["manifest_digest"].get<std::string>()));
    }
  }
  v1::ListImagesResponse list;
  ASSERT_TRUE(images_->ListImages(Ctx().get(), v1::ListImagesRequest(), &list).ok());
  EXPECT_EQ(list.images_size(), 3);  // busybox (4 names), zstd, plain
  // The OCI and Docker flavours of busybox share one config: one image with the three names.
  EXPECT_EQ(Status(registry_->Ref("stockade-test/docker:1.0")).image().repo_tags_size(), 3);
}

TEST_F(ImageTest, MirrorServesImagesUnderTheirOriginalNames) {
  StartDaemon("images:\n  registries:\n    \"registry.k8s.io\": {mirrors: [\"http://" +
              registry_->host() + "\"]}\n    \"docker.io\": {mirrors: [\"http://" +
              registry_->host() + "\"]}\n");
  v1::PullImageResponse pulled;
  grpc::Status s = Pull("registry.k8s.io/pause:3.9", &pulled);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(pulled.image_ref(), registry_->Image("pause:3.9")["config_digest"]);
  EXPECT_THAT(Status("registry.k8s.io/pause:3.9").image().repo_tags(),
              ElementsAre("registry.k8s.io/pause:3.9"));
  ASSERT_TRUE(Pull("busybox", &pulled).ok());
  EXPECT_THAT(Status("busybox").image().repo_tags(),
              ElementsAre("docker.io/library/busybox:latest"));
}

TEST_F(ImageTest, HostsTomlDirectoryConfiguresMirrors) {
  const std::string certs = dir_.Sub("certs.d");
  std::filesystem::create_directories(certs + "/images.example.test");
  std::ofstream(certs + "/images.example.test/hosts.toml")
      << "server = \"https://images.example.test\"\n\n[host.\"http://" << registry_->host()
      << "\"]\n  capabilities = [\"pull\", \"resolve\"]\n";
  StartDaemon("images:\n  registry_config_dir: " + certs + "\n");
  v1::PullImageResponse pulled;
  grpc::Status s = Pull("images.example.test/stockade-test/plain:1.0", &pulled);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(pulled.image_ref(), registry_->Image("stockade-test/plain:1.0")["config_digest"]);
}

TEST_F(ImageTest, ConcurrentPullsOfOneImageShareTheWork) {
  StartDaemon();
  const std::string ref = registry_->Ref("stockade-test/zstd:1.0");
  std::vector<std::thread> threads;
  std::vector<std::string> ids(4);
  std::vector<grpc::Status> results(4);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      v1::PullImageResponse pulled;
      results[i] = Pull(ref, &pulled);
      ids[i] = pulled.image_ref();
    });
  }
  for (std::thread& t : threads) t.join();
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(results[i].ok()) << results[i].error_message();
    EXPECT_EQ(ids[i], registry_->Image("stockade-test/zstd:1.0")["config_digest"]);
  }
  EXPECT_THAT(daemon_->Stderr(), HasSubstr("pulled image"));
}

TEST_F(ImageTest, ImagesSurviveARestart) {
  StartDaemon();
  v1::PullImageResponse pulled;
  ASSERT_TRUE(Pull(registry_->Ref("stockade-test/plain:1.0"), &pulled).ok());
  ASSERT_EQ(daemon_->Stop(SIGTERM), 0);
  ASSERT_TRUE(daemon_->Start()) << daemon_->Stderr();
  images_ = v1::ImageService::NewStub(daemon_->Channel());
  EXPECT_EQ(Status(registry_->Ref("stockade-test/plain:1.0")).image().id(), pulled.image_ref());
}

TEST_F(ImageTest, PullErrorsAreClearAndLeaveNothingBehind) {
  StartDaemon();
  v1::PullImageResponse pulled;
  grpc::Status s = Pull(registry_->Ref("stockade-test/busybox:no-such-tag"), &pulled);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("MANIFEST_UNKNOWN"));
  s = Pull("Not A Reference", &pulled);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  s = Pull("", &pulled);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // A closed port on loopback: the registry is unreachable.
  s = Pull("127.0.0.1:9/stockade-test/plain:1.0", &pulled);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_EQ(CountEntries(ImagesDir() + "/content/ingest"), 0u);
  EXPECT_EQ(CountEntries(ImagesDir() + "/layers/sha256"), 0u);
}

TEST_F(ImageTest, PinnedImagesAreReportedPinned) {
  StartDaemon("images:\n  pinned: [\"" + registry_->Ref("stockade-test/plain:1.0") + "\"]\n");
  v1::PullImageResponse pulled;
  ASSERT_TRUE(Pull(registry_->Ref("stockade-test/plain:1.0"), &pulled).ok());
  ASSERT_TRUE(Pull(registry_->Ref("stockade-test/zstd:1.0"), &pulled).ok());
  EXPECT_TRUE(Status(registry_->Ref("stockade-test/plain:1.0")).image().pinned());
  EXPECT_FALSE(Status(registry_->Ref("stockade-test/zstd:1.0")).image().pinned());
}

class TlsRegistryTest : public ::testing::Test {
 protected:
  grpc::Status PullWith(const TestRegistry& registry, const std::string& image,
                        const std::string& yaml) {
    TempDir dir;
    DaemonProcess daemon(dir.path());
    daemon.config_yaml = yaml;
    EXPECT_TRUE(daemon.Start()) << daemon.Stderr();
    auto images = v1::ImageService::NewStub(daemon.Channel());
    v1::PullImageRequest req;
    req.mutable_image()->set_image(image);
    v1::PullImageResponse resp;
    return images->PullImage(Ctx().get(), req, &resp);
  }
  static std::string HostSettings(const TestRegistry& registry, const std::string& fields) {
    return "images:\n  registries:\n    \"" + registry.host() + "\": {" + fields + "}\n";
  }
};

TEST_F(TlsRegistryTest, UntrustedCertificateFailsClearlyAndCaFileOrSkipVerifyFixIt) {
  std::string error;
  std::unique_ptr<TestRegistry> registry = TestRegistry::Start("", "", &error, "tls");
  ASSERT_NE(registry, nullptr) << error;
  const std::string image = registry->Ref("stockade-test/plain:1.0");
  grpc::Status s = PullWith(*registry, image, "");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("ca_file"));
  s = PullWith(*registry, image,
               HostSettings(*registry, "ca_file: " + registry->TlsFile("ca.pem")));
  EXPECT_TRUE(s.ok()) << s.error_message();
  s = PullWith(*registry, image, HostSettings(*registry, "skip_verify: true"));
  EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST_F(TlsRegistryTest, HostsTomlMirrorWithItsOwnCa) {
  std::string error;
  std::unique_ptr<TestRegistry> registry = TestRegistry::Start("", "", &error, "tls");
  ASSERT_NE(registry, nullptr) << error;
  TempDir certs;
  std::filesystem::create_directories(certs.Sub("secure.example.test"));
  std::ofstream(certs.Sub("secure.example.test/hosts.toml"))
      << "[host.\"https://" << registry->host() << "\"]\n  capabilities = [\"pull\"]\n  ca = \""
      << registry->TlsFile("ca.pem") << "\"\n";
  grpc::Status s = PullWith(*registry, "secure.example.test/stockade-test/zstd:1.0",
                            "images:\n  registry_config_dir: " + certs.path() + "\n");
  EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST_F(TlsRegistryTest, ClientCertificatesForMutualTls) {
  std::string error;
  std::unique_ptr<TestRegistry> registry = TestRegistry::Start("", "", &error, "mtls");
  ASSERT_NE(registry, nullptr) << error;
  const std::string image = registry->Ref("stockade-test/plain:1.0");
  const std::string ca = "ca_file: " + registry->TlsFile("ca.pem");
  grpc::Status s = PullWith(*registry, image, HostSettings(*registry, ca));
  EXPECT_FALSE(s.ok());
  s = PullWith(*registry, image,
               HostSettings(*registry, ca + ", cert_file: " + registry->TlsFile("client.pem") +
                                           ", key_file: " + registry->TlsFile("client-key.pem")));
  EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST(ImageProxyTest, RegistriesOffLoopbackAreReachedThroughTheProxy) {
  // A proxy that answers everything itself: the request must reach it, with the registry's
  // URL in absolute form, and nothing is resolved or sent anywhere else.
  FakeHttpServer proxy([](const FakeRequest& r) {
    return FakeResponse{
        404, {}, R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"via proxy"}]})"};
  });
  for (const std::string var : {"HTTP_PROXY", "http_proxy"}) {
    TempDir dir;
    DaemonProcess daemon(dir.path());
    daemon.config_yaml =
        "images:\n  registries:\n    \"proxied.example.test\": {plain_http: true}\n";
    daemon.extra_env = {var + "=" + proxy.base(), "NO_PROXY=127.0.0.1,localhost",
                        "no_proxy=127.0.0.1,localhost"};
    if (var == "HTTP_PROXY") daemon.extra_env.push_back("http_proxy=");
    ASSERT_TRUE(daemon.Start()) << daemon.Stderr();
    auto images = v1::ImageService::NewStub(daemon.Channel());
    v1::PullImageRequest req;
    req.mutable_image()->set_image("proxied.example.test/team/app:1");
    v1::PullImageResponse resp;
    grpc::Status s = images->PullImage(Ctx().get(), req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << var << ": " << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr("via proxy")) << var;
  }
  bool saw_absolute_url = false;
  for (const FakeRequest& r : proxy.requests()) {
    saw_absolute_url |= r.path == "http://proxied.example.test/v2/team/app/manifests/1";
  }
  EXPECT_TRUE(saw_absolute_url);
}

TEST(ImageAuthTest, BasicAuthRegistryNeedsAndTakesCredentials) {
  std::string error;
  std::unique_ptr<TestRegistry> registry = TestRegistry::Start("puller", "s3cret:pw", &error);
  ASSERT_NE(registry, nullptr) << error;
  TempDir dir;
  DaemonProcess daemon(dir.path());
  ASSERT_TRUE(daemon.Start()) << daemon.Stderr();
  auto images = v1::ImageService::NewStub(daemon.Channel());
  const std::string ref = registry->Ref("stockade-test/plain:1.0");
  v1::PullImageRequest req;
  req.mutable_image()->set_image(ref);
  v1::PullImageResponse resp;
  grpc::Status s = images->PullImage(Ctx().get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();

  req.mutable_auth()->set_username("puller");
  req.mutable_auth()->set_password("wrong");
  s = images->PullImage(Ctx().get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();

  req.mutable_auth()->set_password("s3cret:pw");
  s = images->PullImage(Ctx().get(), req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.image_ref(), registry->Image("stockade-test/plain:1.0")["config_digest"]);

  // The docker-config form: base64 of "user:password".
  v1::PullImageRequest encoded;
  encoded.mutable_image()->set_image(registry->Ref("stockade-test/zstd:1.0"));
  encoded.mutable_auth()->set_auth(absl::Base64Escape("puller:s3cret:pw"));
  s = images->PullImage(Ctx().get(), encoded, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST(ImageAuthTest, CredentialsFromTheConfigFileAreUsed) {
  std::string error;
  std::unique_ptr<TestRegistry> registry = TestRegistry::Start("cfguser", "cfgpass", &error);
  ASSERT_NE(registry, nullptr) << error;
  TempDir dir;
  DaemonProcess daemon(dir.path());
  daemon.config_yaml = "images:\n  registries:\n    \"" + registry->host() +
                       "\": {username: cfguser, password: cfgpass}\n";
  ASSERT_TRUE(daemon.Start()) << daemon.Stderr();
  auto images = v1::ImageService::NewStub(daemon.Channel());
  v1::PullImageRequest req;
  req.mutable_image()->set_image(registry->Ref("stockade-test/plain:1.0"));
  v1::PullImageResponse resp;
  grpc::Status s = images->PullImage(Ctx().get(), req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

}  // namespace
}  // namespace stockade::testing
