// Drives the real stockaded binary over its real unix socket with the generated CRI client.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "runtime/v1/api.grpc.pb.h"
#include "tests/support/daemon_process.h"

namespace stockade::testing {
namespace {

using ::testing::HasSubstr;
namespace v1 = ::runtime::v1;

std::unique_ptr<grpc::ClientContext> Ctx() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return ctx;
}

const v1::RuntimeCondition* Condition(const v1::StatusResponse& r, const std::string& type) {
  for (const auto& c : r.status().conditions()) {
    if (c.type() == type) return &c;
  }
  return nullptr;
}

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override { daemon_ = std::make_unique<DaemonProcess>(dir_.path()); }
  void StartDaemon() {
    ASSERT_TRUE(daemon_->Start()) << "stockaded did not come up:\n" << daemon_->Stderr();
    runtime_ = v1::RuntimeService::NewStub(daemon_->Channel());
    images_ = v1::ImageService::NewStub(daemon_->Channel());
  }
  v1::StatusResponse GetStatus(bool verbose) {
    v1::StatusRequest req;
    req.set_verbose(verbose);
    v1::StatusResponse resp;
    grpc::Status s = runtime_->Status(Ctx().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }
  std::string MetricsAddress() { return GetStatus(true).info().at("metricsAddress"); }

  TempDir dir_;
  std::unique_ptr<DaemonProcess> daemon_;
  std::unique_ptr<v1::RuntimeService::Stub> runtime_;
  std::unique_ptr<v1::ImageService::Stub> images_;
};

TEST_F(DaemonTest, ServesVersionStatusMetricsThenStopsCleanlyOnSigterm) {
  StartDaemon();

  v1::VersionResponse version;
  ASSERT_TRUE(runtime_->Version(Ctx().get(), v1::VersionRequest(), &version).ok());
  EXPECT_EQ(version.version(), "0.1.0");
  EXPECT_EQ(version.runtime_name(), "stockade");
  EXPECT_THAT(version.runtime_version(), HasSubstr("0.1.0"));
  EXPECT_EQ(version.runtime_api_version(), "v1");

  v1::StatusResponse status = GetStatus(false);
  ASSERT_NE(Condition(status, "RuntimeReady"), nullptr);
  EXPECT_TRUE(Condition(status, "RuntimeReady")->status());
  const v1::RuntimeCondition* network = Condition(status, "NetworkReady");
  ASSERT_NE(network, nullptr);
  EXPECT_FALSE(network->status());
  EXPECT_EQ(network->reason(), "NetworkPluginNotReady");
  EXPECT_THAT(network->message(), HasSubstr(daemon_->cni_conf_dir));
  EXPECT_TRUE(status.info().empty());

  // Metrics over HTTP, with the latency of the Version call just made and process metrics.
  const std::string metrics = HttpGet(MetricsAddress(), "/metrics");
  EXPECT_THAT(metrics, HasSubstr("200 OK"));
  EXPECT_THAT(metrics, HasSubstr("stockade_cri_request_duration_seconds_count{method=\"Version\","
                                 "service=\"RuntimeService\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("process_resident_memory_bytes "));
  EXPECT_THAT(metrics, HasSubstr("process_open_fds "));

  struct stat st;
  ASSERT_EQ(::stat(daemon_->socket_path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);

  EXPECT_EQ(daemon_->Stop(SIGTERM), 0) << daemon_->Stderr();
  EXPECT_FALSE(std::filesystem::exists(daemon_->socket_path));
  EXPECT_THAT(daemon_->Stderr(), HasSubstr("stockaded stopped"));
}

TEST_F(DaemonTest, SigintAlsoStopsCleanly) {
  StartDaemon();
  EXPECT_EQ(daemon_->Stop(SIGINT), 0) << daemon_->Stderr();
  EXPECT_FALSE(std::filesystem::exists(daemon_->socket_path));
}

TEST_F(DaemonTest, NetworkReadyFollowsTheCniConfigDirWithoutRestart) {
  StartDaemon();
  std::ofstream(daemon_->cni_conf_dir + "/10-broken.conflist") << "{\"name\": \"x\"";
  const v1::RuntimeCondition broken = *Condition(GetStatus(false), "NetworkReady");
  EXPECT_FALSE(broken.status());
  EXPECT_THAT(broken.message(), HasSubstr("10-broken.conflist"));

  std::ofstream(daemon_->cni_conf_dir + "/20-pods.conflist")
      << R"({"cniVersion":"1.0.0","name":"pods","plugins":[{"type":"stockade-bridge"}]})";
  v1::StatusResponse status = GetStatus(true);
  EXPECT_TRUE(Condition(status, "NetworkReady")->status());
  EXPECT_THAT(status.info().at("cniConfig"), HasSubstr("20-pods.conflist"));
}

TEST_F(DaemonTest, VerboseStatusCarriesTheEffectiveConfigAsJson) {
  StartDaemon();
  v1::StatusResponse status = GetStatus(true);
  nlohmann::json config = nlohmann::json::parse(status.info().at("config"));
  EXPECT_EQ(config["socket"], daemon_->socket_path);
  EXPECT_EQ(config["stateDir"], daemon_->state_dir);
  EXPECT_EQ(config["cni"]["confDir"], daemon_->cni_conf_dir);
  EXPECT_EQ(status.runtime_handlers_size(), 1);
}

TEST_F(DaemonTest, RuntimeConfigReportsTheCgroupDriver) {
  daemon_->config_yaml = "cgroup_driver: systemd\n";
  StartDaemon();
  v1::RuntimeConfigResponse resp;
  ASSERT_TRUE(runtime_->RuntimeConfig(Ctx().get(), v1::RuntimeConfigRequest(), &resp).ok());
  EXPECT_EQ(resp.linux().cgroup_driver(), v1::CgroupDriver::SYSTEMD);
}

TEST_F(DaemonTest, PodCidrIsValidatedKeptAndSurvivesRestart) {
  StartDaemon();
  v1::UpdateRuntimeConfigRequest bad;
  bad.mutable_runtime_config()->mutable_network_config()->set_pod_cidr("10.88.0.0/40");
  v1::UpdateRuntimeConfigResponse resp;
  grpc::Status s = runtime_->UpdateRuntimeConfig(Ctx().get(), bad, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("10.88.0.0/40"));

  v1::UpdateRuntimeConfigRequest good;
  good.mutable_runtime_config()->mutable_network_config()->set_pod_cidr("10.88.0.0/16");
  ASSERT_TRUE(runtime_->UpdateRuntimeConfig(Ctx().get(), good, &resp).ok());
  // An empty request (kubelet before the node has a CIDR) changes nothing.
  ASSERT_TRUE(
      runtime_->UpdateRuntimeConfig(Ctx().get(), v1::UpdateRuntimeConfigRequest(), &resp).ok());
  EXPECT_EQ(GetStatus(true).info().at("podCIDR"), "10.88.0.0/16");

  ASSERT_EQ(daemon_->Stop(SIGTERM), 0);
  StartDaemon();
  EXPECT_EQ(GetStatus(true).info().at("podCIDR"), "10.88.0.0/16");
}

TEST_F(DaemonTest, MethodsNotBuiltYetAnswerUnimplementedWithAMessage) {
  StartDaemon();
  v1::CheckpointContainerResponse checkpoint;
  grpc::Status s =
      runtime_->CheckpointContainer(Ctx().get(), v1::CheckpointContainerRequest(), &checkpoint);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_THAT(s.error_message(), HasSubstr("CheckpointContainer"));

  // Built since: their bad requests are the client's error now.
  v1::AttachResponse attach;
  s = runtime_->Attach(Ctx().get(), v1::AttachRequest(), &attach);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::PodSandboxStatsResponse stats;
  s = runtime_->PodSandboxStats(Ctx().get(), v1::PodSandboxStatsRequest(), &stats);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  const std::string metrics = HttpGet(MetricsAddress(), "/metrics");
  EXPECT_THAT(metrics, HasSubstr("stockade_cri_request_errors_total{code=\"Unimplemented\","
                                 "method=\"CheckpointContainer\",service=\"RuntimeService\"} 1"));
}

TEST_F(DaemonTest, MalformedAndOversizedRequestsDoNotHurtTheDaemon) {
  StartDaemon();
  grpc::GenericStub generic(daemon_->Channel());
  const std::string garbage_bytes("\xff\xff\xff\xff\x0f\x0a\x99", 7);
  for (const char* method :
       {"/runtime.v1.RuntimeService/Version", "/runtime.v1.RuntimeService/UpdateRuntimeConfig",
        "/runtime.v1.RuntimeService/RunPodSandbox", "/runtime.v1.ImageService/PullImage",
        "/runtime.v1.NoSuch/Method"}) {
    grpc::Slice slice(garbage_bytes);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    grpc::Status status;
    generic.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response, [&](grpc::Status s) {
      std::lock_guard<std::mutex> lock(mu);
      status = s;
      done = true;
      cv.notify_one();
    });
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done; });
    EXPECT_FALSE(status.ok()) << method;
  }

  // 20 MiB of labels: over the 16 MiB limit, refused by gRPC.
  v1::UpdateRuntimeConfigRequest huge;
  huge.mutable_runtime_config()->mutable_network_config()->set_pod_cidr(std::string(20 << 20, 'x'));
  v1::UpdateRuntimeConfigResponse resp;
  EXPECT_EQ(runtime_->UpdateRuntimeConfig(Ctx().get(), huge, &resp).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);

  v1::VersionResponse version;
  EXPECT_TRUE(runtime_->Version(Ctx().get(), v1::VersionRequest(), &version).ok());
  EXPECT_EQ(::kill(daemon_->pid(), 0), 0);
}

TEST_F(DaemonTest, SecondDaemonOnTheSameStateDirRefusesToStart) {
  StartDaemon();
  ProcessResult second = RunToCompletion(
      {StockadedPath(), "--config", daemon_->config_path, "--socket", dir_.Sub("other.sock"),
       "--state-dir", daemon_->state_dir, "--run-dir", dir_.Sub("run2")},
      absl::Seconds(20));
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_THAT(second.stderr_text, HasSubstr("already using state dir " + daemon_->state_dir));
  // The first one is untouched.
  v1::VersionResponse version;
  EXPECT_TRUE(runtime_->Version(Ctx().get(), v1::VersionRequest(), &version).ok());
}

TEST_F(DaemonTest, StaleSocketFileIsReplaced) {
  std::filesystem::create_directories(daemon_->run_dir);
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  daemon_->socket_path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ::close(fd);  // a socket file nobody listens on, as a crashed daemon leaves it
  ASSERT_TRUE(std::filesystem::exists(daemon_->socket_path));
  StartDaemon();
  v1::VersionResponse version;
  EXPECT_TRUE(runtime_->Version(Ctx().get(), v1::VersionRequest(), &version).ok());
}

TEST_F(DaemonTest, MissingSocketDirectoryIsCreated) {
  daemon_->socket_path = dir_.Sub("deep/er/dir/stockade.sock");
  StartDaemon();
  EXPECT_TRUE(std::filesystem::exists(daemon_->socket_path));
}

TEST_F(DaemonTest, InvalidConfigIsOneLineNamingFileAndKeyWithExitCodeTwo) {
  const std::string path = dir_.Sub("bad.yaml");
  std::ofstream(path) << "log:\n  level: chatty\n";
  ProcessResult r = RunToCompletion({StockadedPath(), "--config", path}, absl::Seconds(20));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr(path + ":2: log.level: unknown log level \"chatty\""));
  EXPECT_EQ(std::count(r.stderr_text.begin(), r.stderr_text.end(), '\n'), 1) << r.stderr_text;

  r = RunToCompletion({StockadedPath(), "--config", dir_.Sub("missing.yaml")}, absl::Seconds(20));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr("missing.yaml"));

  r = RunToCompletion({StockadedPath(), "--no-such-flag"}, absl::Seconds(20));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr("--no-such-flag"));
}

TEST_F(DaemonTest, ConfigDefaultIsCompleteAndAcceptedBack) {
  ProcessResult r = RunToCompletion({StockadedPath(), "config", "default"}, absl::Seconds(20));
  ASSERT_EQ(r.exit_code, 0);
  for (const char* key :
       {"socket:", "state_dir:", "run_dir:", "cgroup_driver:", "level:", "format:",
        "max_recv_message_bytes:", "shutdown_timeout:", "conf_dir:", "bin_dirs:", "streaming:",
        "metrics:", "images:", "registry_config_dir:", "max_concurrent_downloads:",
        "pull_progress_timeout:", "pinned:", "registries:"}) {
    EXPECT_THAT(r.stdout_text, HasSubstr(key));
  }
  EXPECT_THAT(r.stdout_text, HasSubstr("\"/run/stockade/stockade.sock\""));
  ProcessResult version = RunToCompletion({StockadedPath(), "--version"}, absl::Seconds(20));
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_THAT(version.stdout_text, HasSubstr("stockaded 0.1.0"));
}

TEST_F(DaemonTest, JsonLogsAreOneObjectPerLine) {
  daemon_->extra_args = {"--log-format", "json"};
  StartDaemon();
  v1::RunPodSandboxResponse run;
  EXPECT_FALSE(runtime_->RunPodSandbox(Ctx().get(), v1::RunPodSandboxRequest(), &run).ok());
  ASSERT_EQ(daemon_->Stop(SIGTERM), 0);
  std::istringstream lines(daemon_->Stderr());
  std::string line;
  int count = 0;
  bool saw_failed_call = false;
  while (std::getline(lines, line)) {
    ++count;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(j.is_object()) << line;
    EXPECT_TRUE(j.contains("time") && j.contains("level") && j.contains("msg")) << line;
    if (j["msg"] == "CRI call failed" && j["rpc"] == "RunPodSandbox" &&
        j["code"] == "InvalidArgument" && j["level"] == "warn") {
      saw_failed_call = true;
    }
  }
  EXPECT_GE(count, 3);
  EXPECT_TRUE(saw_failed_call) << daemon_->Stderr();
}

}  // namespace
}  // namespace stockade::testing
