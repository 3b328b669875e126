// nomad-driver-stockade driven as Nomad's client drives it (NOMAD.md, "Testing without a Nomad
// binary"): the go-plugin handshake, the probe calls, SetConfig with cty msgpack, busybox tasks
// from the local registry writing to their log FIFOs, exec, stats, events, signals, stop with a
// timeout, a plugin killed and its task recovered, Shutdown leaving tasks alive. Root.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "nomad-driver/config_schema.h"
#include "tests/support/cty_msgpack_writer.h"
#include "tests/support/daemon_process.h"
#include "tests/support/nomad_plugin.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_registry.h"

namespace stockade::testing {
namespace {

namespace drv = hashicorp::nomad::plugins::drivers::proto;
namespace base = hashicorp::nomad::plugins::base::proto;
using ::testing::HasSubstr;

std::unique_ptr<grpc::ClientContext> Ctx(int seconds = 60) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return ctx;
}

// A job's `config {}` as Nomad sends it: every attribute, the unset ones nil.
struct TaskConfigBuilder {
  std::string image;
  std::string command;
  std::vector<std::string> args, entrypoint;
  std::vector<std::string> ports;
  std::vector<std::map<std::string, std::string>> mounts;
  std::vector<std::string> extra_keys;
  bool readonly_rootfs = false;

  std::string Msgpack() const {
    MsgpackWriter w;
    const auto& attrs = nomad::TaskConfigAttributes();
    w.Map(static_cast<uint32_t>(attrs.size() + extra_keys.size()));
    for (const nomad::AttrSpec& a : attrs) {
      w.Str(a.name);
      if (a.name == "image" && !image.empty()) {
        w.Str(image);
      } else if (a.name == "command" && !command.empty()) {
        w.Str(command);
      } else if (a.name == "args" && !args.empty()) {
        w.Strings(args);
      } else if (a.name == "entrypoint" && !entrypoint.empty()) {
        w.Strings(entrypoint);
      } else if (a.name == "ports" && !ports.empty()) {
        w.Strings(ports);
      } else if (a.name == "readonly_rootfs") {
        w.Bool(readonly_rootfs);
      } else if (a.name == "mounts" && !mounts.empty()) {
        w.Array(static_cast<uint32_t>(mounts.size()));
        for (const auto& m : mounts) {
          w.Map(static_cast<uint32_t>(m.size()));
          for (const auto& [k, v] : m) w.Str(k).Str(v);
        }
      } else if (a.name == "privileged" || a.name == "force_pull") {
        w.Bool(false);  // what the Default{} spec gives
      } else {
        w.Nil();
      }
    }
    for (const std::string& k : extra_keys) w.Str(k).Str("x");
    return w.bytes();
  }
};

// Reads a log FIFO as Nomad's logmon does, into a string, until the test ends.
class FifoReader {
 public:
  explicit FifoReader(const std::string& path) : path_(path) {
    ::mkfifo(path.c_str(), 0600);
    thread_ = std::thread([this] {
      // Non-blocking: opening waits for no writer, and the loop sees `stop_`.
      const int fd = ::open(path_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
      char buf[4096];
      while (!stop_) {
        const ssize_t n = ::read(fd, buf, sizeof(buf));
        if (n > 0) {
          absl::MutexLock lock(&mu_);
          text_.append(buf, static_cast<size_t>(n));
          continue;
        }
        absl::SleepFor(absl::Milliseconds(20));  // no writer yet, or nothing written
      }
      ::close(fd);
    });
  }
  ~FifoReader() {
    stop_ = true;
    thread_.join();
  }
  std::string Text() {
    absl::MutexLock lock(&mu_);
    return text_;
  }
  bool WaitFor(absl::string_view needle, absl::Duration timeout) {
    return stockade::testing::WaitFor([&] { return absl::StrContains(Text(), needle); }, timeout);
  }

 private:
  std::string path_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  absl::Mutex mu_;
  std::string text_;
};

class NomadDriverTest : public ::testing::Test {
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

  void SetUp() override {
    std::filesystem::create_directories(dir_.Sub("sockets"));
    plugin_ = NewPlugin();
    std::string error;
    ASSERT_TRUE(plugin_->Start({}, &error)) << error;
    ASSERT_TRUE(SetConfig(*plugin_).ok());
  }

  void TearDown() override {
    // Every task a test left goes, through a plugin of the same state dir.
    if (plugin_ == nullptr || plugin_->pid() <= 0) {
      plugin_ = NewPlugin();
      if (!plugin_->Start()) return;
      SetConfig(*plugin_).IgnoreError();
    }
    auto driver = plugin_->Driver();
    for (const std::string& id : started_) {
      drv::DestroyTaskRequest req;
      req.set_task_id(id);
      req.set_force(true);
      drv::DestroyTaskResponse resp;
      grpc::Status s = driver->DestroyTask(Ctx().get(), req, &resp);
      EXPECT_TRUE(s.ok()) << s.error_message();
    }
    EXPECT_THAT(ReadAll("/proc/self/mountinfo"), ::testing::Not(HasSubstr(dir_.path())));
    if (!bridge_.empty())
      RunToCompletion({"/usr/sbin/ip", "link", "del", bridge_}, absl::Seconds(10));
  }

  std::unique_ptr<PluginProcess> NewPlugin() {
    return std::make_unique<PluginProcess>(dir_.Sub("sockets"), dir_.Sub("plugin.log"));
  }

  // A stockaded-style config whose CNI dir holds Debian's bridge + host-local + portmap chain on
  // a bridge and subnet of this test process's own.
  std::string CniConfigFile() {
    const unsigned pid = static_cast<unsigned>(::getpid());
    bridge_ = absl::StrCat("stk-n", pid);
    subnet_prefix_ = absl::StrCat("10.", 128 + (pid >> 8) % 64, ".", pid % 256, ".");
    std::filesystem::create_directories(dir_.Sub("net.d"));
    std::ofstream(dir_.Sub("net.d/10-nomad.conflist")) << absl::StrCat(
        R"({"cniVersion": "1.0.0", "name": "stockade-nomad-test", "plugins": [
          {"type": "bridge", "bridge": ")",
        bridge_, R"(", "isGateway": true,
           "ipam": {"type": "host-local", "ranges": [[{"subnet": ")",
        subnet_prefix_, R"(0/24"}]], "dataDir": ")", dir_.Sub("ipam"), R"("}},
          {"type": "portmap", "capabilities": {"portMappings": true}}]})");
    std::ofstream(dir_.Sub("nomad.yaml"))
        << "cni:\n  conf_dir: " << dir_.Sub("net.d") << "\n  bin_dirs: [/usr/lib/cni]\n";
    return dir_.Sub("nomad.yaml");
  }

  static std::string ReadAll(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::string PluginConfigMsgpack(const std::string& network = "") {
    MsgpackWriter w;
    w.Map(6)
        .Str("shim_path")
        .Nil()
        .Str("state_dir")
        .Str(dir_.Sub("state"))
        .Str("run_dir")
        .Str(dir_.Sub("run"))
        .Str("config_file");
    if (network.empty()) {
      w.Nil();
    } else {
      w.Str(CniConfigFile());
    }
    w.Str("network");
    if (network.empty()) {
      w.Nil();
    } else {
      w.Str(network);
    }
    w.Str("allow_privileged").Bool(false);
    return w.bytes();
  }

  grpc::Status SetConfig(PluginProcess& p, const std::string& network = "") {
    base::SetConfigRequest req;
    req.set_msgpack_config(PluginConfigMsgpack(network));
    req.set_plugin_api_version("0.1.0");
    req.mutable_nomad_config()->mutable_driver()->set_clientminport(20000);
    base::SetConfigResponse resp;
    return p.Base()->SetConfig(Ctx().get(), req, &resp);
  }

  // An alloc dir as Nomad lays it out, with the task's log FIFOs.
  drv::TaskConfig Task(const std::string& name, const TaskConfigBuilder& config) {
    const std::string alloc_id = absl::StrCat("alloc-", name, "-", ::getpid());
    const std::string alloc_dir = dir_.Sub(alloc_id);
    for (const std::string& d : {std::string("alloc/logs"), name + "/local", name + "/secrets"}) {
      std::filesystem::create_directories(absl::StrCat(alloc_dir, "/", d));
      // As Nomad's allocdir makes them: writable by the task's user, whoever it is.
      ::chmod(absl::StrCat(alloc_dir, "/", d).c_str(), 0777);
    }
    drv::TaskConfig t;
    t.set_id(absl::StrCat(alloc_id, "/", name, "/0a1b2c3d"));
    t.set_name(name);
    t.set_alloc_id(alloc_id);
    t.set_job_name("job");
    t.set_task_group_name("group");
    t.set_namespace_("default");
    t.set_alloc_dir(alloc_dir);
    t.set_msgpack_driver_config(config.Msgpack());
    t.set_stdout_path(absl::StrCat(alloc_dir, "/alloc/logs/.", name, ".stdout.fifo"));
    t.set_stderr_path(absl::StrCat(alloc_dir, "/alloc/logs/.", name, ".stderr.fifo"));
    // Nomad makes the FIFOs before StartTask.
    ::mkfifo(t.stdout_path().c_str(), 0600);
    ::mkfifo(t.stderr_path().c_str(), 0600);
    (*t.mutable_env())["NOMAD_TASK_NAME"] = name;
    (*t.mutable_env())["NOMAD_ALLOC_DIR"] = "/alloc";
    t.mutable_resources()->mutable_allocated_resources()->mutable_cpu()->set_cpu_shares(100);
    t.mutable_resources()->mutable_allocated_resources()->mutable_memory()->set_memory_mb(64);
    return t;
  }

  grpc::Status StartTask(const drv::TaskConfig& task, drv::StartTaskResponse* resp) {
    drv::StartTaskRequest req;
    *req.mutable_task() = task;
    grpc::Status s = plugin_->Driver()->StartTask(Ctx(120).get(), req, resp);
    if (s.ok()) started_.push_back(task.id());
    return s;
  }

  drv::WaitTaskResponse WaitTask(const std::string& id, int seconds = 30) {
    drv::WaitTaskRequest req;
    req.set_task_id(id);
    drv::WaitTaskResponse resp;
    grpc::Status s = plugin_->Driver()->WaitTask(Ctx(seconds).get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  drv::InspectTaskResponse Inspect(const std::string& id) {
    drv::InspectTaskRequest req;
    req.set_task_id(id);
    drv::InspectTaskResponse resp;
    grpc::Status s = plugin_->Driver()->InspectTask(Ctx().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  drv::ExecTaskResponse Exec(const std::string& id, const std::vector<std::string>& cmd) {
    drv::ExecTaskRequest req;
    req.set_task_id(id);
    for (const std::string& c : cmd) req.add_command(c);
    req.mutable_timeout()->set_seconds(20);
    drv::ExecTaskResponse resp;
    grpc::Status s = plugin_->Driver()->ExecTask(Ctx().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  std::string Image() const { return registry_->Ref("stockade-test/busybox:1.0"); }

  TaskConfigBuilder Shell(const std::string& script) const {
    TaskConfigBuilder b;
    b.image = Image();
    // The test image's entrypoint is /bin/echo: replaced, as a job would for a shell.
    b.entrypoint = {"/bin/sh", "-c"};
    b.args = {script};
    return b;
  }

  static TestRegistry* registry_;
  std::string bridge_, subnet_prefix_;
  TempDir dir_;
  std::unique_ptr<PluginProcess> plugin_;
  std::vector<std::string> started_;
};

TestRegistry* NomadDriverTest::registry_ = nullptr;

TEST_F(NomadDriverTest, HandshakesServesHealthAndDescribesItself) {
  EXPECT_TRUE(absl::StartsWith(plugin_->handshake(), "1|2|unix|" + dir_.Sub("sockets") + "/"))
      << plugin_->handshake();
  EXPECT_TRUE(absl::EndsWith(plugin_->handshake(), "|grpc"));

  grpc::ClientContext hctx;
  auto health = grpc::health::v1::Health::NewStub(plugin_->Channel());
  grpc::health::v1::HealthCheckRequest hreq;
  hreq.set_service("plugin");
  grpc::health::v1::HealthCheckResponse hresp;
  ASSERT_TRUE(health->Check(&hctx, hreq, &hresp).ok());
  EXPECT_EQ(hresp.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  base::PluginInfoResponse info;
  ASSERT_TRUE(plugin_->Base()->PluginInfo(Ctx().get(), {}, &info).ok());
  EXPECT_EQ(info.type(), base::DRIVER);
  EXPECT_EQ(info.name(), "stockade");
  ASSERT_EQ(info.plugin_api_versions_size(), 1);
  EXPECT_EQ(info.plugin_api_versions(0), "0.1.0");

  base::ConfigSchemaResponse schema;
  ASSERT_TRUE(plugin_->Base()->ConfigSchema(Ctx().get(), {}, &schema).ok());
  EXPECT_TRUE(schema.spec().object().attributes().contains("state_dir"));
  drv::TaskConfigSchemaResponse task_schema;
  ASSERT_TRUE(plugin_->Driver()->TaskConfigSchema(Ctx().get(), {}, &task_schema).ok());
  EXPECT_TRUE(task_schema.spec().object().attributes().at("image").attr().required());

  // Nomad 2's Init (after SetConfig) opens the runtime; older clients never call it.
  drv::InitResponse init;
  ASSERT_TRUE(plugin_->Driver()->Init(Ctx().get(), {}, &init).ok());
  EXPECT_TRUE(std::filesystem::exists(dir_.Sub("state/nomad-driver-stockade.log")));

  drv::CapabilitiesResponse caps;
  ASSERT_TRUE(plugin_->Driver()->Capabilities(Ctx().get(), {}, &caps).ok());
  EXPECT_TRUE(caps.capabilities().send_signals());
  EXPECT_TRUE(caps.capabilities().exec());
  EXPECT_EQ(caps.capabilities().fs_isolation(), drv::DriverCapabilities::IMAGE);
  // No CNI network in the plugin config: no TASK mode (a network of the task's own).
  EXPECT_THAT(
      caps.capabilities().network_isolation_modes(),
      ::testing::ElementsAre(drv::NetworkIsolationSpec::HOST, drv::NetworkIsolationSpec::GROUP));

  auto ctx = Ctx(30);
  auto fingerprints = plugin_->Driver()->Fingerprint(ctx.get(), {});
  drv::FingerprintResponse f;
  ASSERT_TRUE(fingerprints->Read(&f));
  EXPECT_EQ(f.health(), drv::FingerprintResponse::HEALTHY) << f.health_description();
  EXPECT_TRUE(f.attributes().at("driver.stockade").bool_val());
  EXPECT_EQ(f.attributes().at("driver.stockade.os").string_val(), "linux");
  ctx->TryCancel();
  // The log channel is hclog JSON.
  EXPECT_THAT(plugin_->Stderr(), HasSubstr("\"@level\":\"info\""));
}

TEST_F(NomadDriverTest, AWrongCookieIsRefusedAndAProbeLeavesNoState) {
  PluginProcess wrong(dir_.Sub("sockets"), dir_.Sub("wrong.log"));
  std::string error;
  EXPECT_FALSE(wrong.Start({{"NOMAD_PLUGIN_MAGIC_COOKIE", "nope"}}, &error));
  EXPECT_EQ(wrong.Wait(absl::Seconds(5)), 1);
  EXPECT_THAT(wrong.Stderr(), HasSubstr("This binary is a plugin"));

  // A probe launch (PluginInfo, ConfigSchema, SetConfig, killed) opens no runtime.
  PluginProcess probe(dir_.Sub("sockets"), dir_.Sub("probe.log"));
  ASSERT_TRUE(probe.Start());
  base::SetConfigRequest req;
  MsgpackWriter w;
  w.Map(1).Str("state_dir").Str(dir_.Sub("probe-state"));
  req.set_msgpack_config(w.bytes());
  base::SetConfigResponse resp;
  ASSERT_TRUE(probe.Base()->SetConfig(Ctx().get(), req, &resp).ok());
  probe.Kill(SIGKILL);
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("probe-state")));
}

TEST_F(NomadDriverTest, BadConfigsGetClearErrors) {
  base::SetConfigRequest req;
  req.set_msgpack_config(std::string("\x85\xa1", 2));
  base::SetConfigResponse resp;
  grpc::Status s = plugin_->Base()->SetConfig(Ctx().get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("malformed msgpack"));
  MsgpackWriter unknown;
  unknown.Map(1).Str("stat_dir").Str("/x");
  req.set_msgpack_config(unknown.bytes());
  s = plugin_->Base()->SetConfig(Ctx().get(), req, &resp);
  EXPECT_THAT(s.error_message(), HasSubstr("stat_dir: unknown key"));

  drv::StartTaskResponse start;
  TaskConfigBuilder no_image;
  s = StartTask(Task("noimage", no_image), &start);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("image: is required"));
  EXPECT_FALSE(s.error_details().empty());  // the RecoverableError detail
  TaskConfigBuilder extra = Shell("true");
  extra.extra_keys = {"imagee"};
  s = StartTask(Task("extra", extra), &start);
  EXPECT_THAT(s.error_message(), HasSubstr("imagee: unknown key"));
  TaskConfigBuilder missing = Shell("true");
  missing.image = registry_->Ref("stockade-test/nothing:1.0");
  s = StartTask(Task("missing", missing), &start);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.error_message(), HasSubstr("nothing"));

  // Unknown tasks: NotFound to look at, OK to stop and destroy (already gone).
  drv::InspectTaskRequest ireq;
  ireq.set_task_id("no/such/task");
  drv::InspectTaskResponse iresp;
  EXPECT_EQ(plugin_->Driver()->InspectTask(Ctx().get(), ireq, &iresp).error_code(),
            grpc::StatusCode::NOT_FOUND);
  drv::StopTaskRequest sreq;
  sreq.set_task_id("no/such/task");
  drv::StopTaskResponse sresp;
  EXPECT_TRUE(plugin_->Driver()->StopTask(Ctx().get(), sreq, &sresp).ok());
  drv::DestroyTaskRequest dreq;
  dreq.set_task_id("no/such/task");
  drv::DestroyTaskResponse dresp;
  EXPECT_TRUE(plugin_->Driver()->DestroyTask(Ctx().get(), dreq, &dresp).ok());
  // Nothing half-made: no pod of the failed starts is left.
  EXPECT_TRUE(!std::filesystem::exists(dir_.Sub("run/pods")) ||
              std::filesystem::is_empty(dir_.Sub("run/pods")));
}

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
  EXPECT_TRUE(out.WaitFor("hello from hello\n", absl::Seconds(5))) << out.Text();
  EXPECT_THAT(out.Text(), HasSubstr("logs"));  // /alloc/logs is the alloc dir's
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
  EXPECT_EQ(err.Text(), "/bin/sh: can't create /data/new: Read-only file system\n");
  EXPECT_THAT(out.Text(), HasSubstr("volume data\nread-only\nwrote-secret\ndevice-ok\nc\n"));
  EXPECT_FALSE(std::filesystem::exists(volume + "/new"));
  EXPECT_TRUE(std::filesystem::exists(task.alloc_dir() + "/vol/secrets/s"));
}

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
