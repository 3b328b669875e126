// Tasks through nomad-driver-stockade: busybox from the local registry writing to its log
// FIFOs and exiting with a code; exec, signals, stats and stop with a timeout; streaming exec
// with stdin and a terminal; events of image pulls; mounts and devices. Root.
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

TEST_F(NomadDriverTest, ATaskWritesToItsLogFifosAndExitsWithItsCode) {
  drv::TaskConfig task = Task(
      "hello", Shell("echo hello from $NOMAD_TASK_NAME; echo oops >&2; ls /alloc /local; exit 3"));
  FifoReader out(task.stdout_path()), err(task.stderr_path());
  drv::StartTaskResponse start;
  grpc::Status s = StartTask(task, &start);
  ASSERT_TRUE(s.ok()) << s.error_message() << plugin_->Stderr();
  EXPECT_EQ(start.handle().version(), 1);
  EXPECT_EQ(start.handle().state(), drv::RUNNING);
  EXPECT_FALSE(start.handle().driver_state().empty());

  drv::WaitTaskResponse result = WaitTask(task.id());
  EXPECT_EQ(result.result().exit_code(), 3);
  EXPECT_EQ(result.result().signal(), 0);
  // The log copier may still be writing after the exit: wait for the last line, too.
  EXPECT_TRUE(out.WaitFor("hello from hello\n", absl::Seconds(5))) << out.Text();
  EXPECT_TRUE(out.WaitFor("logs", absl::Seconds(5))) << out.Text();  // /alloc/logs: the alloc dir
  EXPECT_TRUE(err.WaitFor("oops\n", absl::Seconds(5))) << err.Text();

  drv::InspectTaskResponse inspect = Inspect(task.id());
  EXPECT_EQ(inspect.task().state(), drv::EXITED);
  EXPECT_EQ(inspect.task().result().exit_code(), 3);
  EXPECT_GT(inspect.task().started_at().seconds(), 1700000000);
  EXPECT_GE(inspect.task().completed_at().seconds(), inspect.task().started_at().seconds());

  drv::DestroyTaskRequest dreq;
  dreq.set_task_id(task.id());
  drv::DestroyTaskResponse dresp;
  ASSERT_TRUE(plugin_->Driver()->DestroyTask(Ctx().get(), dreq, &dresp).ok());
  ASSERT_TRUE(plugin_->Driver()->DestroyTask(Ctx().get(), dreq, &dresp).ok());  // idempotent
  EXPECT_TRUE(std::filesystem::is_empty(dir_.Sub("run/pods")));
}

TEST_F(NomadDriverTest, ExecSignalsStatsAndStopWithATimeout) {
  drv::TaskConfig task =
      Task("svc", Shell("trap 'echo got USR1' USR1; trap '' TERM; while true; do sleep 0.2; done"));
  task.mutable_resources()->mutable_allocated_resources()->mutable_memory()->set_memory_max_mb(96);
  FifoReader out(task.stdout_path()), err(task.stderr_path());
  drv::StartTaskResponse start;
  ASSERT_TRUE(StartTask(task, &start).ok()) << plugin_->Stderr();
  drv::InspectTaskResponse running = Inspect(task.id());
  EXPECT_EQ(running.task().state(), drv::RUNNING);
  EXPECT_EQ(running.task().completed_at().seconds(), -62135596800);  // Go's zero time
  EXPECT_TRUE(running.task().has_result());

  drv::ExecTaskResponse exec = Exec(task.id(), {"sh", "-c", "echo out; echo err >&2; exit 4"});
  EXPECT_EQ(exec.stdout(), "out\n");
  EXPECT_EQ(exec.stderr(), "err\n");
  EXPECT_EQ(exec.result().exit_code(), 4);
  // The hard memory limit is memory_max_mb, on the task's cgroup (v1 or v2, as the node has).
  std::string limit_file;
  for (absl::string_view line :
       absl::StrSplit(Exec(task.id(), {"cat", "/proc/self/cgroup"}).stdout(), '\n')) {
    std::vector<std::string> f = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (f.size() != 3) continue;
    if (f[1] == "memory") limit_file = "/sys/fs/cgroup/memory" + f[2] + "/memory.limit_in_bytes";
    if (f[0] == "0" && limit_file.empty()) limit_file = "/sys/fs/cgroup" + f[2] + "/memory.max";
  }
  EXPECT_EQ(ReadAll(limit_file), absl::StrCat(96 << 20, "\n")) << limit_file;

  drv::SignalTaskRequest sig;
  sig.set_task_id(task.id());
  sig.set_signal("SIGUSR1");
  drv::SignalTaskResponse sig_resp;
  ASSERT_TRUE(plugin_->Driver()->SignalTask(Ctx().get(), sig, &sig_resp).ok());
  EXPECT_TRUE(out.WaitFor("got USR1", absl::Seconds(5))) << out.Text();

  auto stats_ctx = Ctx(30);
  drv::TaskStatsRequest sreq;
  sreq.set_task_id(task.id());
  sreq.mutable_collection_interval()->set_nanos(200 * 1000 * 1000);
  auto stats = plugin_->Driver()->TaskStats(stats_ctx.get(), sreq);
  drv::TaskStatsResponse st;
  ASSERT_TRUE(stats->Read(&st));
  ASSERT_TRUE(stats->Read(&st));
  EXPECT_EQ(st.stats().id(), task.id());
  EXPECT_GT(st.stats().agg_resource_usage().memory().usage(), 0u);
  EXPECT_GT(st.stats().timestamp().seconds(), 1700000000);
  stats_ctx->TryCancel();

  // SIGTERM is ignored: the timeout ends in SIGKILL.
  const absl::Time before = absl::Now();
  drv::StopTaskRequest stop;
  stop.set_task_id(task.id());
  stop.mutable_timeout()->set_seconds(1);
  drv::StopTaskResponse stop_resp;
  ASSERT_TRUE(plugin_->Driver()->StopTask(Ctx().get(), stop, &stop_resp).ok());
  EXPECT_GE(absl::Now() - before, absl::Seconds(1));
  drv::WaitTaskResponse result = WaitTask(task.id());
  EXPECT_EQ(result.result().signal(), SIGKILL);
  EXPECT_EQ(Inspect(task.id()).task().state(), drv::EXITED);
  ASSERT_TRUE(plugin_->Driver()->StopTask(Ctx().get(), stop, &stop_resp).ok());  // again: OK
}

TEST_F(NomadDriverTest, StreamingExecWithStdinAndATerminal) {
  drv::TaskConfig task = Task("sh", Shell("sleep 1000"));
  drv::StartTaskResponse start;
  ASSERT_TRUE(StartTask(task, &start).ok()) << plugin_->Stderr();
  for (const bool tty : {false, true}) {
    grpc::ClientContext ctx;
    auto stream = plugin_->Driver()->ExecTaskStreaming(&ctx);
    drv::ExecTaskStreamingRequest setup;
    setup.mutable_setup()->set_task_id(task.id());
    for (const char* a : {"sh", "-c", "tty; read line; echo got $line; exit 7"}) {
      setup.mutable_setup()->add_command(a);
    }
    setup.mutable_setup()->set_tty(tty);
    ASSERT_TRUE(stream->Write(setup));
    if (tty) {
      drv::ExecTaskStreamingRequest size;
      size.mutable_tty_size()->set_width(100);
      size.mutable_tty_size()->set_height(30);
      ASSERT_TRUE(stream->Write(size));
    }
    drv::ExecTaskStreamingRequest input;
    input.mutable_stdin()->set_data("hello\n");
    ASSERT_TRUE(stream->Write(input));
    std::string output;
    int exit_code = -1;
    drv::ExecTaskStreamingResponse resp;
    // As Nomad's client: no half-close; the plugin ends the call once the result is out.
    const absl::Time before = absl::Now();
    while (stream->Read(&resp)) {
      output += resp.stdout().data() + resp.stderr().data();
      if (resp.exited()) exit_code = resp.result().exit_code();
    }
    grpc::Status end = stream->Finish();
    EXPECT_TRUE(end.ok()) << end.error_message();
    EXPECT_LT(absl::Now() - before, absl::Seconds(2));
    EXPECT_EQ(exit_code, 7) << output;
    EXPECT_THAT(output, HasSubstr("got hello"));
    if (tty) {
      EXPECT_THAT(output, HasSubstr("/dev/pts/0"));
    } else {
      EXPECT_THAT(output, HasSubstr("not a tty"));
    }
  }
  // stdin closed by the client ends a command that reads to the end; a bad setup is refused.
  grpc::ClientContext ctx;
  auto stream = plugin_->Driver()->ExecTaskStreaming(&ctx);
  drv::ExecTaskStreamingRequest setup;
  setup.mutable_setup()->set_task_id(task.id());
  for (const char* a : {"sh", "-c", "cat; echo done"}) setup.mutable_setup()->add_command(a);
  ASSERT_TRUE(stream->Write(setup));
  drv::ExecTaskStreamingRequest input;
  input.mutable_stdin()->set_data("abc\n");
  input.mutable_stdin()->set_close(true);
  ASSERT_TRUE(stream->Write(input));
  std::string output;
  bool exited = false;
  drv::ExecTaskStreamingResponse resp;
  while (stream->Read(&resp)) {
    output += resp.stdout().data();
    exited |= resp.exited() && resp.result().exit_code() == 0;
  }
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(output, "abc\ndone\n");
  EXPECT_TRUE(exited);
  // A client that goes away ends the command.
  {
    grpc::ClientContext cancel_ctx;
    auto gone = plugin_->Driver()->ExecTaskStreaming(&cancel_ctx);
    drv::ExecTaskStreamingRequest sleep_setup;
    sleep_setup.mutable_setup()->set_task_id(task.id());
    for (const char* a : {"sleep", "4242"}) sleep_setup.mutable_setup()->add_command(a);
    ASSERT_TRUE(gone->Write(sleep_setup));
    ASSERT_TRUE(
        WaitFor([&] { return absl::StrContains(Exec(task.id(), {"ps"}).stdout(), "sleep 4242"); },
                absl::Seconds(10)));
    cancel_ctx.TryCancel();
    gone->Finish().IgnoreError();
    EXPECT_TRUE(
        WaitFor([&] { return !absl::StrContains(Exec(task.id(), {"ps"}).stdout(), "sleep 4242"); },
                absl::Seconds(10)))
        << Exec(task.id(), {"ps"}).stdout();
  }
  grpc::ClientContext bad_ctx;
  auto bad = plugin_->Driver()->ExecTaskStreaming(&bad_ctx);
  drv::ExecTaskStreamingRequest no_setup;
  no_setup.mutable_stdin()->set_data("x");
  ASSERT_TRUE(bad->Write(no_setup));
  while (bad->Read(&resp)) {
  }
  EXPECT_EQ(bad->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(NomadDriverTest, TaskEventsTellOfImagePulls) {
  auto ctx = Ctx(60);
  auto events = plugin_->Driver()->TaskEvents(ctx.get(), {});
  absl::SleepFor(absl::Milliseconds(200));  // the stream is subscribed
  TaskConfigBuilder other = Shell("true");
  other.image = registry_->Ref("stockade-test/busybox:latest");
  drv::TaskConfig task = Task("pull", other);
  drv::StartTaskResponse start;
  ASSERT_TRUE(StartTask(task, &start).ok()) << plugin_->Stderr();
  drv::DriverTaskEvent e;
  ASSERT_TRUE(events->Read(&e));
  EXPECT_EQ(e.task_id(), task.id());
  EXPECT_THAT(e.message(), HasSubstr("Downloading image"));
  ctx->TryCancel();
}

TEST_F(NomadDriverTest, MountsAndDevices) {
  const std::string volume = dir_.Sub("volume");
  std::filesystem::create_directories(volume);
  std::ofstream(volume + "/data.txt") << "volume data\n";
  TaskConfigBuilder config = Shell(
      "cat /data/data.txt; echo x > /data/new || echo read-only; "
      "echo secret > /secrets/s && echo wrote-secret; echo z > /dev/xnull && echo device-ok; "
      "ls -l /dev/xnull | cut -c1; sleep 1000");
  config.mounts = {{{"source", volume}, {"target", "/data"}, {"readonly", "true"}}};
  drv::TaskConfig task = Task("vol", config);
  drv::Device* d = task.add_devices();
  d->set_host_path("/dev/null");
  d->set_task_path("/dev/xnull");
  d->set_cgroup_permissions("rw");
  FifoReader out(task.stdout_path()), err(task.stderr_path());
  drv::StartTaskResponse start;
  ASSERT_TRUE(StartTask(task, &start).ok()) << plugin_->Stderr();
  EXPECT_TRUE(out.WaitFor("c\n", absl::Seconds(10))) << out.Text() << err.Text();
  // The two FIFOs are read apart: stdout's end says nothing of how far stderr's reader is.
  EXPECT_TRUE(err.WaitFor("Read-only file system\n", absl::Seconds(5))) << err.Text();
  EXPECT_EQ(err.Text(), "/bin/sh: can't create /data/new: Read-only file system\n");
  EXPECT_THAT(out.Text(), HasSubstr("volume data\nread-only\nwrote-secret\ndevice-ok\nc\n"));
  EXPECT_FALSE(std::filesystem::exists(volume + "/new"));
  EXPECT_TRUE(std::filesystem::exists(task.alloc_dir() + "/vol/secrets/s"));
}

}  // namespace
}  // namespace stockade::testing
