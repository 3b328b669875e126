// nomad-driver-stockade's networks and restarts: a group network namespace joined, a network of
// the task's own reached at the address it reports, a StartTask retried after the plugin died,
// and a killed plugin's task recovered, with Shutdown leaving it running. Root.
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "tests/support/nomad_fixture.h"

namespace stockade::testing {
namespace {

namespace drv = hashicorp::nomad::plugins::drivers::proto;
namespace base = hashicorp::nomad::plugins::base::proto;
using ::testing::HasSubstr;

TEST_F(NomadDriverTest, AGroupNetworkNamespaceIsJoined) {
  const std::string ns = absl::StrCat("stk-nomad-", ::getpid());
  ASSERT_EQ(RunToCompletion({"/usr/sbin/ip", "netns", "add", ns}, absl::Seconds(10)).exit_code, 0);
  ASSERT_EQ(RunToCompletion({"/usr/sbin/ip", "-n", ns, "link", "add", "nomadtest0", "type", "veth",
                             "peer", "name", "nomadtest1"},
                            absl::Seconds(10))
                .exit_code,
            0);
  drv::TaskConfig task = Task("grp", Shell("sleep 1000"));
  task.mutable_network_isolation_spec()->set_mode(drv::NetworkIsolationSpec::GROUP);
  task.mutable_network_isolation_spec()->set_path("/var/run/netns/" + ns);
  drv::StartTaskResponse start;
  grpc::Status s = StartTask(task, &start);
  EXPECT_TRUE(s.ok()) << s.error_message() << plugin_->Stderr();
  if (s.ok()) {
    EXPECT_THAT(Exec(task.id(), {"cat", "/proc/net/dev"}).stdout(), HasSubstr("nomadtest0"));
    drv::DestroyTaskRequest dreq;
    dreq.set_task_id(task.id());
    dreq.set_force(true);
    drv::DestroyTaskResponse dresp;
    EXPECT_TRUE(plugin_->Driver()->DestroyTask(Ctx().get(), dreq, &dresp).ok());
  }
  // Nomad's namespace is Nomad's: still there after the task.
  EXPECT_TRUE(std::filesystem::exists("/var/run/netns/" + ns));
  RunToCompletion({"/usr/sbin/ip", "netns", "del", ns}, absl::Seconds(10));
}

TEST_F(NomadDriverTest, ATaskOfItsOwnNetworkIsReachedAtTheAddressItReports) {
  // A plugin whose tasks without a group network get the CNI network.
  plugin::Empty empty;
  ASSERT_TRUE(plugin_->Controller()->Shutdown(Ctx().get(), empty, &empty).ok());
  EXPECT_EQ(plugin_->Wait(absl::Seconds(2)), 0);
  plugin_ = NewPlugin();
  ASSERT_TRUE(plugin_->Start());
  ASSERT_TRUE(SetConfig(*plugin_, "stockade-bridge").ok());
  TaskConfigBuilder config = Shell(
      "echo hello from the jail > /local/index.html; exec /bin/busybox httpd -f -p 8080 -h /local");
  config.ports = {"http"};
  drv::TaskConfig task = Task("web", config);
  drv::PortMapping* port = task.mutable_resources()->add_ports();
  port->set_label("http");
  port->set_value(20000 + ::getpid() % 10000);
  port->set_to(8080);
  drv::StartTaskResponse start;
  grpc::Status s = StartTask(task, &start);
  ASSERT_TRUE(s.ok()) << s.error_message() << plugin_->Stderr();
  const std::string addr = start.network_override().addr();
  EXPECT_TRUE(absl::StartsWith(addr, subnet_prefix_)) << addr;
  EXPECT_EQ(start.network_override().port_map().at("http"), 8080);
  // Services go to the host's published port, not the jail's private address.
  EXPECT_FALSE(start.network_override().auto_advertise());
  EXPECT_EQ(Inspect(task.id()).network_override().addr(), addr);
  EXPECT_THAT(Exec(task.id(), {"cat", "/proc/net/dev"}).stdout(), HasSubstr("eth0"));
  std::string page;
  EXPECT_TRUE(WaitFor(
      [&] {
        page = HttpGet(addr + ":8080", "/index.html");
        return absl::StrContains(page, "hello from the jail");
      },
      absl::Seconds(10)))
      << page;
}

TEST_F(NomadDriverTest, AStartRetriedAfterThePluginDiedReplacesWhatTheFirstLeft) {
  drv::TaskConfig task = Task("retry", Shell("sleep 1000"));
  drv::StartTaskResponse first;
  ASSERT_TRUE(StartTask(task, &first).ok()) << plugin_->Stderr();
  plugin_->Kill(SIGKILL);
  plugin_->Wait(absl::Seconds(5));
  plugin_ = NewPlugin();
  ASSERT_TRUE(plugin_->Start());
  ASSERT_TRUE(SetConfig(*plugin_).ok());
  // Nomad's task runner retries with the same task after the plugin's death.
  drv::StartTaskResponse second;
  grpc::Status s = StartTask(task, &second);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(Inspect(task.id()).task().state(), drv::RUNNING);
  size_t pods = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_.Sub("run/pods"))) {
    pods += e.is_directory() ? 1 : 0;
  }
  EXPECT_EQ(pods, 1u);
  // A second StartTask of a task this plugin runs is refused.
  drv::StartTaskResponse third;
  drv::StartTaskRequest again;
  *again.mutable_task() = task;
  EXPECT_EQ(plugin_->Driver()->StartTask(Ctx().get(), again, &third).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
}

TEST_F(NomadDriverTest, AKilledPluginsTaskIsRecoveredAndShutdownLeavesItRunning) {
  drv::TaskConfig task = Task("long", Shell("echo started; sleep 1000"));
  FifoReader out(task.stdout_path()), err(task.stderr_path());
  drv::StartTaskResponse start;
  ASSERT_TRUE(StartTask(task, &start).ok()) << plugin_->Stderr();
  ASSERT_TRUE(out.WaitFor("started", absl::Seconds(10)));

  plugin_->Kill(SIGKILL);
  plugin_->Wait(absl::Seconds(5));
  plugin_ = NewPlugin();
  ASSERT_TRUE(plugin_->Start());
  ASSERT_TRUE(SetConfig(*plugin_).ok());
  drv::RecoverTaskRequest recover;
  recover.set_task_id(task.id());
  *recover.mutable_handle() = start.handle();
  drv::RecoverTaskResponse recovered;
  grpc::Status s = plugin_->Driver()->RecoverTask(Ctx().get(), recover, &recovered);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(Inspect(task.id()).task().state(), drv::RUNNING);
  EXPECT_EQ(Exec(task.id(), {"echo", "still here"}).stdout(), "still here\n");
  // The log lines also go to a file, which outlives a dead stderr pipe.
  EXPECT_THAT(ReadAll(dir_.Sub("state/nomad-driver-stockade.log")), HasSubstr("task recovered"));

  // Shutdown: the process ends within Nomad's 2 s; the task does not.
  plugin::Empty empty;
  const absl::Time before = absl::Now();
  ASSERT_TRUE(plugin_->Controller()->Shutdown(Ctx().get(), empty, &empty).ok());
  EXPECT_EQ(plugin_->Wait(absl::Seconds(2)), 0);
  EXPECT_LT(absl::Now() - before, absl::Seconds(2));
  plugin_ = NewPlugin();
  ASSERT_TRUE(plugin_->Start());
  ASSERT_TRUE(SetConfig(*plugin_).ok());
  ASSERT_TRUE(plugin_->Driver()->RecoverTask(Ctx().get(), recover, &recovered).ok());
  EXPECT_EQ(Inspect(task.id()).task().state(), drv::RUNNING);
  // A recovered handle of a task that is gone is an error.
  drv::RecoverTaskRequest bogus = recover;
  bogus.mutable_handle()->set_driver_state(
      R"({"version":1,"pod_id":"p","container_id":"0000000000000000000000000000000000000000000000000000000000000000"})");
  EXPECT_FALSE(plugin_->Driver()->RecoverTask(Ctx().get(), bogus, &recovered).ok());
}

}  // namespace
}  // namespace stockade::testing
