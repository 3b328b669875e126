// The fixture of the nomad-driver-stockade tests: the real plugin spawned as Nomad's loader
// does (tests/support/nomad_plugin.h), the test images from a registry on 127.0.0.1, job
// configs in go-cty's msgpack, alloc dirs with their log FIFOs, and a TearDown that destroys
// every task a test started. Root.
#pragma once

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

namespace drv = hashicorp::nomad::plugins::drivers::proto;
namespace base = hashicorp::nomad::plugins::base::proto;
using ::testing::HasSubstr;

inline std::unique_ptr<grpc::ClientContext> Ctx(int seconds = 60) {
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

  static inline TestRegistry* registry_ = nullptr;
  std::string bridge_, subnet_prefix_;
  TempDir dir_;
  std::unique_ptr<PluginProcess> plugin_;
  std::vector<std::string> started_;
};

}  // namespace stockade::testing
