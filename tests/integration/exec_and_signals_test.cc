// ExecSync started from the pod's shim, and what every command inherits: signals at their
// defaults, the container's own PATH; stop signals checked up front; a shared PID namespace's
// leftovers killed with the container. The real daemon and shim. Root.
#include <filesystem>
#include <fstream>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "tests/support/pod_fixture.h"

namespace stockade::testing {
namespace {

using ::testing::HasSubstr;

class ExecAndSignalsTest : public PodFixture {};

TEST_F(ExecAndSignalsTest, AnExecEndsWithItsCommandNotWithItsBackgroundChildren) {
  const std::string pod = RunPod(PodConfig("bg"));
  const std::string id = Start(pod, Root("c", {"sleep", "1000"}));
  v1::ExecSyncResponse resp;
  // The background sleep holds stdout open for 60 s; the call must end with the shell.
  grpc::Status s = Exec(id, {"sh", "-c", "sleep 60 & echo done"}, 20, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.stdout(), "done\n");
  EXPECT_EQ(resp.exit_code(), 0);
}

TEST_F(ExecAndSignalsTest, TheTimeoutKillsTheExecsWholeProcessGroup) {
  const std::string pod = RunPod(PodConfig("timeout"));
  const std::string id = Start(pod, Root("c", {"sleep", "1000"}));
  v1::ExecSyncResponse resp;
  grpc::Status s = Exec(id, {"sh", "-c", "sleep 4242 & sleep 4343"}, 1, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << s.error_message();
  // Neither the command nor its background child is left in the container.
  v1::ExecSyncResponse ps;
  ASSERT_TRUE(WaitFor(
      [&] {
        return Exec(id, {"ps"}, 10, &ps).ok() && !absl::StrContains(ps.stdout(), "sleep 4242") &&
               !absl::StrContains(ps.stdout(), "sleep 4343");
      },
      absl::Seconds(10)))
      << ps.stdout();
}

TEST_F(ExecAndSignalsTest, OutputPastTheCapIsCutAndSaidSo) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);  // to see what the daemon sends, not the default cap
  auto runtime = v1::RuntimeService::NewStub(grpc::CreateCustomChannel(
      "unix:" + daemon_->socket_path, grpc::InsecureChannelCredentials(), args));
  const std::string pod = RunPod(PodConfig("big"));
  const std::string id = Start(pod, Root("c", {"sleep", "1000"}));
  v1::ExecSyncRequest req;
  req.set_container_id(id);
  for (const char* a : {"head", "-c", "20000000", "/dev/zero"}) req.add_cmd(a);
  req.set_timeout(30);
  v1::ExecSyncResponse resp;
  grpc::Status s = runtime->ExecSync(Ctx(60).get(), req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.stdout().size(), (16u << 20) - (64u << 10));
  EXPECT_THAT(resp.stderr(), HasSubstr("were cut there"));
  EXPECT_LE(resp.ByteSizeLong(), 16u << 20);
}

TEST_F(ExecAndSignalsTest, CommandsStartWithDefaultSignalsAndTheContainersPath) {
  const std::string pod = RunPod(PodConfig("signals"));
  // Blocked and ignored signals, as /proc shows them: none, in the container and in an exec.
  // exec: busybox sh itself sets SIGQUIT ignored for the children it forks.
  const std::string status_cmd = "exec grep -E '^Sig(Blk|Ign)' /proc/self/status";
  EXPECT_EQ(OutputOf(pod, Root("init", {"sh", "-c", status_cmd})),
            "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
  const std::string id = Start(pod, Root("c", {"sleep", "1000"}));
  v1::ExecSyncResponse resp;
  ASSERT_TRUE(Exec(id, {"sh", "-c", status_cmd}, 10, &resp).ok());
  EXPECT_EQ(resp.stdout(), "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");

  // A command found only on the container's own PATH.
  const std::string tools = dir_.Sub("tools");
  std::filesystem::create_directories(tools);
  std::ofstream(tools + "/only-here") << "#!/bin/sh\necho found on the image PATH\n";
  std::filesystem::permissions(tools + "/only-here", std::filesystem::perms::owner_all);
  v1::ContainerConfig c = Root("path", {"only-here"});
  auto* env = c.add_envs();
  env->set_key("PATH");
  env->set_value("/opt/tools/bin:/bin");
  auto* m = c.add_mounts();
  m->set_host_path(tools);
  m->set_container_path("/opt/tools/bin");
  EXPECT_EQ(OutputOf(pod, c), "found on the image PATH\n");
  const std::string with_tools = Start(pod, [&] {
    v1::ContainerConfig k = c;
    k.mutable_metadata()->set_name("path-exec");
    k.clear_command();
    k.add_command("sleep");
    k.add_command("1000");
    return k;
  }());
  ASSERT_TRUE(Exec(with_tools, {"only-here"}, 10, &resp).ok());
  EXPECT_EQ(resp.stdout(), "found on the image PATH\n");
}

TEST_F(ExecAndSignalsTest, AStopSignalThatIsNoSignalIsRefusedAtCreate) {
  const std::string image = registry_->Ref("stockade-test/hostile:bad-stopsignal");
  v1::PullImageRequest pull;
  pull.mutable_image()->set_image(image);
  v1::PullImageResponse pulled;
  ASSERT_TRUE(images_->PullImage(Ctx().get(), pull, &pulled).ok());
  const std::string pod = RunPod(PodConfig("stopsig"));
  v1::ContainerConfig c = Root("c", {"sleep", "1000"});
  c.mutable_image()->set_image(image);
  std::string id;
  grpc::Status s = Create(pod, c, &id);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("99999999999999999999"));
  v1::ListContainersResponse containers;
  ASSERT_TRUE(runtime_->ListContainers(Ctx().get(), {}, &containers).ok());
  EXPECT_EQ(containers.containers_size(), 0);
}

// With the pod's PID namespace, a container's init is not its namespace's PID 1: what it leaves
// in the background must go with it, and with the pod.
TEST_F(ExecAndSignalsTest, StoppingKillsEveryProcessOfASharedPidContainer) {
  v1::PodSandboxConfig config = PodConfig("shared");
  config.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(v1::POD);
  const std::string pod = RunPod(config);
  const std::string id = Start(pod, Root("c", {"sh", "-c", "sleep 4545 & exec sleep 4646"}));
  ASSERT_TRUE(WaitFor(
      [&] {
        return Run({"/usr/bin/pgrep", "-f", "sleep 4545"}).exit_code == 0;
      },
      absl::Seconds(10)));
  ASSERT_TRUE(Stop(id, 2).ok());
  EXPECT_EQ(Run({"/usr/bin/pgrep", "-f", "sleep 4545"}).exit_code, 1) << "a child outlived it";
  EXPECT_EQ(Run({"/usr/bin/pgrep", "-f", "sleep 4646"}).exit_code, 1);
}

// ContainerStats and ListContainerStats from the container's cgroup: they move when the
// container burns CPU and fills memory (a 40 MB file on its /dev/shm tmpfs is charged to it).
TEST_F(ExecAndSignalsTest, StatsMoveWithTheContainersCpuAndMemory) {
  const std::string pod = RunPod(PodConfig("stats"));
  const std::string busy = Start(pod, Root("busy", {"sh", "-c",
                                                    "head -c 40000000 /dev/zero > /dev/shm/fill; "
                                                    "while true; do :; done"}));
  std::string created;
  ASSERT_TRUE(Create(pod, Root("idle", {"sleep", "1000"}), &created).ok());
  v1::ContainerStatsRequest req;
  req.set_container_id(busy);
  v1::ContainerStatsResponse resp;
  ASSERT_TRUE(WaitFor(
      [&] {
        return runtime_->ContainerStats(Ctx().get(), req, &resp).ok() &&
               resp.stats().cpu().usage_core_nano_seconds().value() > 200'000'000 &&
               resp.stats().memory().working_set_bytes().value() >= 40'000'000;
      },
      absl::Seconds(20)))
      << resp.DebugString();
  const v1::ContainerStats first = resp.stats();  // a copy: resp is read again below
  EXPECT_EQ(first.attributes().id(), busy);
  EXPECT_EQ(first.attributes().metadata().name(), "busy");
  EXPECT_GT(first.cpu().timestamp(), 0);
  EXPECT_GE(first.memory().usage_bytes().value(), first.memory().working_set_bytes().value());
  absl::SleepFor(absl::Milliseconds(500));
  ASSERT_TRUE(runtime_->ContainerStats(Ctx().get(), req, &resp).ok());
  // A busy loop on one core: between a tenth of a core and the machine's all.
  EXPECT_GT(resp.stats().cpu().usage_nano_cores().value(), 100'000'000u) << resp.DebugString();
  EXPECT_GT(resp.stats().cpu().usage_core_nano_seconds().value(),
            first.cpu().usage_core_nano_seconds().value());

  // Listed with the pod's filter: the running one and the created one (nothing used yet).
  v1::ListContainerStatsRequest list;
  list.mutable_filter()->set_pod_sandbox_id(pod);
  v1::ListContainerStatsResponse all;
  ASSERT_TRUE(runtime_->ListContainerStats(Ctx().get(), list, &all).ok());
  std::map<std::string, v1::ContainerStats> by_id;
  for (const v1::ContainerStats& st : all.stats()) by_id[st.attributes().id()] = st;
  ASSERT_EQ(by_id.size(), 2u);
  EXPECT_GT(by_id.at(busy).memory().working_set_bytes().value(), 40'000'000u);
  EXPECT_EQ(by_id.at(created).cpu().usage_core_nano_seconds().value(), 0u);
  list.mutable_filter()->set_id(created);
  ASSERT_TRUE(runtime_->ListContainerStats(Ctx().get(), list, &all).ok());
  ASSERT_EQ(all.stats_size(), 1);
  EXPECT_EQ(all.stats(0).attributes().id(), created);
  req.set_container_id("no-such-container");
  EXPECT_EQ(runtime_->ContainerStats(Ctx().get(), req, &resp).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace stockade::testing
