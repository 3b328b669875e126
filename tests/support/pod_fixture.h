// A CRI test fixture for pods and containers: the real stockaded on a temp root, the test
// images from a registry on 127.0.0.1, helpers that drive RuntimeService the way kubelet does,
// and a TearDown that removes every pod and checks that nothing of it is left. Root.
#pragma once

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "runtime/v1/api.grpc.pb.h"
#include "tests/support/daemon_process.h"
#include "tests/support/files.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_registry.h"

namespace stockade::testing {

namespace v1 = ::runtime::v1;

inline std::unique_ptr<grpc::ClientContext> Ctx(int seconds = 60) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return ctx;
}

inline bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// The lines of a CRI log file, as (stream, tag, text).
struct LogLine {
  std::string stream, tag, text;
};
inline std::vector<LogLine> ReadCriLog(const std::string& path) {
  std::vector<LogLine> out;
  static const std::regex kLine(
      R"(^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d)) (stdout|stderr) (P|F) (.*)$)");
  for (absl::string_view line : absl::StrSplit(ReadFile(path), '\n', absl::SkipEmpty())) {
    std::smatch m;
    const std::string l(line);
    if (std::regex_match(l, m, kLine)) {
      out.push_back({m[3], m[4], m[5]});
    } else {
      out.push_back({"?", "?", l});
    }
  }
  return out;
}

inline std::string Texts(const std::vector<LogLine>& lines, const std::string& stream = "") {
  std::string out;
  for (const LogLine& l : lines) {
    if (stream.empty() || l.stream == stream) absl::StrAppend(&out, l.text, "\n");
  }
  return out;
}

class PodFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string error;
    registry_ = TestRegistry::Start("", "", &error).release();
    ASSERT_NE(registry_, nullptr) << error;
  }
  static void TearDownTestSuite() {
    delete registry_;
    registry_ = nullptr;
    // The bridge plugin leaves its bridges; these are the tests' own.
    RunToCompletion({"/usr/sbin/ip", "link", "del", Bridge()}, absl::Seconds(10));
    RunToCompletion({"/usr/sbin/ip", "link", "del", BadBridge()}, absl::Seconds(10));
  }

  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "pod tests need root (namespaces, mounts, cgroups)";
    ASSERT_NE(registry_, nullptr);
    image_ = registry_->Ref("stockade-test/busybox:1.0");
    StartDaemon();
    v1::PullImageRequest pull;
    pull.mutable_image()->set_image(image_);
    v1::PullImageResponse pulled;
    grpc::Status s = images_->PullImage(Ctx().get(), pull, &pulled);
    ASSERT_TRUE(s.ok()) << s.error_message();
    logs_ = dir_.Sub("logs");
    std::filesystem::create_directories(logs_);
  }

  void TearDown() override {
    // Every pod a test made goes, and takes its namespaces, mounts, cgroups and shim along.
    if (runtime_ != nullptr) {
      v1::ListPodSandboxResponse pods;
      runtime_->ListPodSandbox(Ctx().get(), {}, &pods);
      for (const v1::PodSandbox& p : pods.items()) {
        v1::RemovePodSandboxRequest r;
        r.set_pod_sandbox_id(p.id());
        v1::RemovePodSandboxResponse resp;
        grpc::Status s = runtime_->RemovePodSandbox(Ctx().get(), r, &resp);
        EXPECT_TRUE(s.ok()) << s.error_message();
        ExpectNothingLeftOf(p.id());
      }
    }
    if (daemon_ != nullptr) daemon_->Stop(SIGTERM);
  }

  // Per test process (ctest runs tests side by side): a bridge and a subnet of its own.
  static std::string Bridge() { return absl::StrCat("stk-t", ::getpid()); }
  // For a config the plugin refuses; per test process, as tests run in parallel.
  static std::string BadBridge() { return absl::StrCat("stk-b", ::getpid()); }
  static std::string Subnet() {
    const unsigned pid = static_cast<unsigned>(::getpid());
    return absl::StrCat("10.", 192 + (pid >> 8) % 64, ".", pid % 256, ".0/24");
  }

  // Pods off the host network need a CNI network: Debian's standard plugins on a test bridge.
  virtual void ConfigureDaemon(DaemonProcess& daemon) {
    ipam_dir_ = dir_.Sub("ipam");
    std::ofstream(daemon.cni_conf_dir + "/10-test.conflist") << ChainConfig();
  }
  std::string ChainConfig() const {
    return absl::StrCat(R"({"cniVersion": "1.0.0", "name": "stockade-test", "plugins": [
      {"type": "bridge", "bridge": ")",
                        Bridge(), R"(", "isGateway": true, "ipMasq": true,
       "hairpinMode": true,
       "ipam": {"type": "host-local", "ranges": [[{"subnet": ")",
                        Subnet(), R"("}]],
                "routes": [{"dst": "0.0.0.0/0"}], "dataDir": ")",
                        ipam_dir_, R"("}},
      {"type": "portmap", "capabilities": {"portMappings": true}}]})");
  }
  // Networking tests add their own checks (addresses, rules).
  virtual void ExpectNoNetworkLeftOf(const std::string& pod_id) {}

  void StartDaemon() {
    daemon_ = std::make_unique<DaemonProcess>(dir_.path());
    ConfigureDaemon(*daemon_);
    ASSERT_TRUE(daemon_->Start()) << daemon_->Stderr();
    runtime_ = v1::RuntimeService::NewStub(daemon_->Channel());
    images_ = v1::ImageService::NewStub(daemon_->Channel());
  }

  void ExpectNothingLeftOf(const std::string& pod_id) {
    EXPECT_FALSE(Exists(absl::StrCat(daemon_->run_dir, "/pods/", pod_id)));
    EXPECT_FALSE(Exists(absl::StrCat(daemon_->run_dir, "/netns/", pod_id)));
    EXPECT_FALSE(Exists(absl::StrCat("/sys/fs/cgroup/memory/stockade/pod-", pod_id)));
    EXPECT_FALSE(Exists(absl::StrCat("/sys/fs/cgroup/pids/stockade/pod-", pod_id)));
    EXPECT_FALSE(Exists(absl::StrCat("/sys/fs/cgroup/cpuacct/stockade/pod-", pod_id)));
    EXPECT_THAT(ReadFile("/proc/self/mountinfo"), ::testing::Not(::testing::HasSubstr(pod_id)));
    const RunResult shims =
        Run({"/usr/bin/pgrep", "-f", absl::StrCat("stockade-shim --pod-id ", pod_id)});
    EXPECT_EQ(shims.exit_code, 1) << "a shim of " << pod_id << " still runs: " << shims.out;
    ExpectNoNetworkLeftOf(pod_id);
  }

  struct RunResult {
    int exit_code;
    std::string out;
  };
  static RunResult Run(const std::vector<std::string>& args) {
    ProcessResult r = RunToCompletion(args, absl::Seconds(20));
    return {r.exit_code, r.stdout_text};
  }

  v1::PodSandboxConfig PodConfig(const std::string& name) {
    v1::PodSandboxConfig config;
    config.mutable_metadata()->set_name(name);
    config.mutable_metadata()->set_namespace_("default");
    config.mutable_metadata()->set_uid(absl::StrCat("uid-", name));
    config.set_hostname(name);
    // As kubelet sends it for a pod without shareProcessNamespace.
    config.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(
        v1::CONTAINER);
    config.set_log_directory(absl::StrCat(logs_, "/", name));
    std::filesystem::create_directories(config.log_directory());
    return config;
  }

  std::string RunPod(const v1::PodSandboxConfig& config) {
    v1::RunPodSandboxRequest req;
    *req.mutable_config() = config;
    v1::RunPodSandboxResponse resp;
    grpc::Status s = runtime_->RunPodSandbox(Ctx().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    pod_configs_[resp.pod_sandbox_id()] = config;
    return resp.pod_sandbox_id();
  }

  v1::ContainerConfig ContainerConfig(const std::string& name,
                                      const std::vector<std::string>& command) {
    v1::ContainerConfig config;
    config.mutable_metadata()->set_name(name);
    config.mutable_image()->set_image(image_);
    for (const std::string& c : command) config.add_command(c);
    config.set_log_path(name + ".log");
    return config;
  }

  // The same, run as root (the test image's user is not).
  v1::ContainerConfig Root(const std::string& name, const std::vector<std::string>& command) {
    v1::ContainerConfig c = ContainerConfig(name, command);
    c.mutable_linux()->mutable_security_context()->mutable_run_as_user()->set_value(0);
    return c;
  }

  grpc::Status Create(const std::string& pod, const v1::ContainerConfig& config, std::string* id) {
    v1::CreateContainerRequest req;
    req.set_pod_sandbox_id(pod);
    *req.mutable_config() = config;
    *req.mutable_sandbox_config() = pod_configs_[pod];
    v1::CreateContainerResponse resp;
    grpc::Status s = runtime_->CreateContainer(Ctx().get(), req, &resp);
    *id = resp.container_id();
    return s;
  }

  std::string Start(const std::string& pod, const v1::ContainerConfig& config) {
    std::string id;
    grpc::Status s = Create(pod, config, &id);
    EXPECT_TRUE(s.ok()) << s.error_message();
    v1::StartContainerRequest req;
    req.set_container_id(id);
    v1::StartContainerResponse resp;
    s = runtime_->StartContainer(Ctx().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return id;
  }

  v1::ContainerStatus Status(const std::string& id) {
    v1::ContainerStatusRequest req;
    req.set_container_id(id);
    v1::ContainerStatusResponse resp;
    grpc::Status s = runtime_->ContainerStatus(Ctx().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.status();
  }

  v1::ContainerStatus WaitExited(const std::string& id,
                                 absl::Duration timeout = absl::Seconds(20)) {
    v1::ContainerStatus status;
    WaitFor([&] { return (status = Status(id)).state() == v1::CONTAINER_EXITED; }, timeout);
    return status;
  }

  grpc::Status Stop(const std::string& id, int64_t timeout) {
    v1::StopContainerRequest req;
    req.set_container_id(id);
    req.set_timeout(timeout);
    v1::StopContainerResponse resp;
    return runtime_->StopContainer(Ctx(timeout + 30).get(), req, &resp);
  }

  grpc::Status Exec(const std::string& id, const std::vector<std::string>& cmd, int64_t timeout,
                    v1::ExecSyncResponse* resp) {
    v1::ExecSyncRequest req;
    req.set_container_id(id);
    for (const std::string& c : cmd) req.add_cmd(c);
    req.set_timeout(timeout);
    return runtime_->ExecSync(Ctx().get(), req, resp);
  }

  // The whole output of a container that runs to its end.
  std::string OutputOf(const std::string& pod, const v1::ContainerConfig& config,
                       v1::ContainerStatus* final_status = nullptr) {
    const std::string id = Start(pod, config);
    v1::ContainerStatus status = WaitExited(id);
    EXPECT_EQ(status.state(), v1::CONTAINER_EXITED);
    if (final_status != nullptr) *final_status = status;
    return Texts(ReadCriLog(status.log_path()));
  }

  static inline TestRegistry* registry_ = nullptr;
  TempDir dir_;
  std::string image_, logs_, ipam_dir_;
  std::unique_ptr<DaemonProcess> daemon_;
  std::unique_ptr<v1::RuntimeService::Stub> runtime_;
  std::unique_ptr<v1::ImageService::Stub> images_;
  std::map<std::string, v1::PodSandboxConfig> pod_configs_;
};

}  // namespace stockade::testing
