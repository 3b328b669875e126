// Images made to reach the node (scripts/testimages.py, hostile_images()): links out of the
// rootfs, absolute and relative, at every path the runtime binds, mounts or reads; FIFOs where
// it reads or binds; link loops; dangling links; "..". Each test checks that nothing was made,
// bound or read outside the rootfs, and that the daemon answers meanwhile. Root.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "tests/support/pod_fixture.h"

namespace stockade::testing {
namespace {

using ::testing::HasSubstr;

// Where the images' links point (testimages.py ESCAPE_DIR).
constexpr char kEscapeDir[] = "/tmp/stockade-escape";
constexpr char kAccountsDir[] = "/tmp/stockade-escape-accounts";

class HostileImageTest : public PodFixture {
 protected:
  void SetUp() override {
    PodFixture::SetUp();
    std::filesystem::create_directories(kEscapeDir);
  }

  std::string Hostile(const std::string& tag) {
    const std::string ref = registry_->Ref("stockade-test/hostile:" + tag);
    v1::PullImageRequest pull;
    pull.mutable_image()->set_image(ref);
    v1::PullImageResponse pulled;
    grpc::Status s = images_->PullImage(Ctx().get(), pull, &pulled);
    EXPECT_TRUE(s.ok()) << tag << ": " << s.error_message();
    return ref;
  }

  v1::ContainerConfig HostileContainer(const std::string& name, const std::string& image,
                                       const std::vector<std::string>& command) {
    v1::ContainerConfig c = ContainerConfig(name, command);
    c.mutable_image()->set_image(image);
    c.mutable_linux()->mutable_security_context()->mutable_run_as_user()->set_value(0);
    return c;
  }

  // Everything under the escape directory: it must stay empty.
  static std::vector<std::string> Escaped() {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::recursive_directory_iterator(kEscapeDir, ec)) {
      out.push_back(e.path().string());
    }
    return out;
  }

  void ExpectDaemonAnswers() {
    v1::VersionResponse version;
    EXPECT_TRUE(runtime_->Version(Ctx(5).get(), v1::VersionRequest(), &version).ok());
  }
};

TEST_F(HostileImageTest, LinksOutOfTheRootfsAreResolvedInsideIt) {
  const std::string image = Hostile("links");
  const std::string pod = RunPod(PodConfig("links"));
  const std::string volume = dir_.Sub("volume");
  std::filesystem::create_directories(volume);
  std::ofstream(volume + "/inside.txt") << "volume content\n";
  v1::ContainerConfig c = HostileContainer(
      "c", image,
      {"sh", "-c",
       "cat /etc/hostname; grep -c ip6-allrouters /etc/hosts; pwd; ls /abs-link/sub /rel-link/sub "
       "/up/up/tmp/stockade-escape/sub /dangling/sub; head -c 4 /dev/zero | wc -c; "
       "cat /proc/self/comm"});
  for (const char* path :
       {"/abs-link/sub", "/rel-link/sub", "/up/up/tmp/stockade-escape/sub", "/dangling/sub"}) {
    auto* m = c.add_mounts();
    m->set_host_path(volume);
    m->set_container_path(path);
  }
  v1::ContainerStatus status;
  const std::string out = OutputOf(pod, c, &status);
  EXPECT_EQ(status.exit_code(), 0) << out << status.message();
  // The pod's files, /dev and /proc and the volumes landed where the links lead inside the
  // rootfs, and the working directory was made there.
  EXPECT_EQ(out,  // ls sorts its arguments
            "links\n1\n/tmp/stockade-escape/wd\n/abs-link/sub:\ninside.txt\n\n"
            "/dangling/sub:\ninside.txt\n\n/rel-link/sub:\ninside.txt\n\n"
            "/up/up/tmp/stockade-escape/sub:\ninside.txt\n4\ncat\n");
  EXPECT_THAT(Escaped(), ::testing::IsEmpty());
  ExpectDaemonAnswers();
}

TEST_F(HostileImageTest, LoopsOverlongPathsAndDotDotAreRefusedAndLeaveNothing) {
  const std::string image = Hostile("links");
  const std::string pod = RunPod(PodConfig("loops"));
  const std::string volume = dir_.Sub("volume");
  std::filesystem::create_directories(volume);
  struct Case {
    std::string container_path, message;
  };
  for (const Case& k : {Case{"/loop1/x", "bind a volume at /loop1/x"},
                        Case{std::string(300, 'd') + "/x", "bind a volume at"}}) {
    v1::ContainerConfig c = HostileContainer("c", image, {"true"});
    auto* m = c.add_mounts();
    m->set_host_path(volume);
    m->set_container_path("/" + k.container_path.substr(k.container_path.front() == '/'));
    std::string id;
    ASSERT_TRUE(Create(pod, c, &id).ok());
    v1::StartContainerRequest start;
    start.set_container_id(id);
    v1::StartContainerResponse started;
    grpc::Status s = runtime_->StartContainer(Ctx().get(), start, &started);
    EXPECT_FALSE(s.ok()) << k.container_path;
    EXPECT_THAT(s.error_message(), HasSubstr(k.message));
    v1::RemoveContainerRequest rm;
    rm.set_container_id(id);
    v1::RemoveContainerResponse removed;
    EXPECT_TRUE(runtime_->RemoveContainer(Ctx().get(), rm, &removed).ok());
  }
  // ".." in a container path, and a log path climbing out of the pod's log directory.
  v1::ContainerConfig c = HostileContainer("dotdot", image, {"true"});
  auto* m = c.add_mounts();
  m->set_host_path(volume);
  m->set_container_path("/../../tmp/stockade-escape/x");
  std::string id;
  grpc::Status s = Create(pod, c, &id);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("must not contain \"..\""));
  c = HostileContainer("log", image, {"true"});
  c.set_log_path("../../escaped.log");
  s = Create(pod, c, &id);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("log_path"));
  v1::ListContainersResponse containers;
  ASSERT_TRUE(runtime_->ListContainers(Ctx().get(), {}, &containers).ok());
  EXPECT_EQ(containers.containers_size(), 0);
  EXPECT_THAT(Escaped(), ::testing::IsEmpty());
  EXPECT_FALSE(Exists(absl::StrCat(logs_, "/escaped.log")));
}

TEST_F(HostileImageTest, AccountFilesLinkingToTheNodesAreNotRead) {
  std::filesystem::create_directories(kAccountsDir);
  std::ofstream(absl::StrCat(kAccountsDir, "/passwd")) << "escapee:x:4242:4242::/:/bin/sh\n";
  std::ofstream(absl::StrCat(kAccountsDir, "/group")) << "escapees:x:4242:escapee\n";
  const std::string image = Hostile("accounts-links");
  const std::string pod = RunPod(PodConfig("accounts"));
  v1::ContainerConfig c = ContainerConfig("c", {"id"});
  c.mutable_image()->set_image(image);
  c.mutable_linux()->mutable_security_context()->set_run_as_username("escapee");
  std::string id;
  grpc::Status s = Create(pod, c, &id);
  EXPECT_FALSE(s.ok()) << "the node's /etc/passwd-like file was read";
  EXPECT_THAT(s.error_message(), HasSubstr("escapee"));
  // By number it runs, with no groups from the node's file.
  const std::string id_out = OutputOf(pod, HostileContainer("n", image, {"sh", "-c", "id -u; id"}));
  EXPECT_THAT(id_out, ::testing::StartsWith("0\n"));
  EXPECT_THAT(id_out, ::testing::Not(HasSubstr("4242")));
  std::filesystem::remove_all(kAccountsDir);
}

TEST_F(HostileImageTest, FifosWhereTheRuntimeReadsOrBindsBlockNothing) {
  const std::string accounts = Hostile("fifo-accounts");
  const std::string pod = RunPod(PodConfig("fifos"));
  std::string id;
  grpc::Status s = Create(pod, HostileContainer("c", accounts, {"true"}), &id);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("/etc/passwd is not a regular file"));
  ExpectDaemonAnswers();

  // A FIFO at /etc/hosts is bound over, not opened: the container starts, and so does the next.
  const std::string hosts = Hostile("fifo-hosts");
  EXPECT_THAT(OutputOf(pod, HostileContainer("h", hosts, {"cat", "/etc/hosts"})),
              HasSubstr("ip6-allrouters"));
  EXPECT_EQ(OutputOf(pod, HostileContainer("next", hosts, {"echo", "next"})), "next\n");
  // The pod can still be stopped: nothing holds its lock.
  v1::StopPodSandboxRequest stop;
  stop.set_pod_sandbox_id(pod);
  v1::StopPodSandboxResponse stopped;
  EXPECT_TRUE(runtime_->StopPodSandbox(Ctx().get(), stop, &stopped).ok());
}

TEST_F(HostileImageTest, AnImageWithoutEtcProcSysOrDevStarts) {
  const std::string image = Hostile("scratch");
  const std::string pod = RunPod(PodConfig("scratch"));
  v1::ContainerStatus status;
  const std::string out = OutputOf(
      pod, HostileContainer("c", image, {"sh", "-c", "cat /etc/hostname; ls /proc/self/fd/"}),
      &status);
  EXPECT_EQ(status.exit_code(), 0) << status.message();
  EXPECT_THAT(out, ::testing::StartsWith("scratch\n"));
}

}  // namespace
}  // namespace stockade::testing
