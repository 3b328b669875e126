// nomad-driver-stockade's figures: RSS of an idle plugin (after the handshake, as Nomad's
// probe launches see it, and with its runtime open), and StartTask-to-running latency of
// host-network busybox tasks from a cached image, one after another, then RSS with all running.
// usage: nomad_driver --image REF --dir DIR [--tasks N]   (as root; see bench/nomad.sh)
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "nomad-driver/config_schema.h"
#include "tests/support/cty_msgpack_writer.h"
#include "tests/support/nomad_plugin.h"

namespace drv = hashicorp::nomad::plugins::drivers::proto;
namespace base = hashicorp::nomad::plugins::base::proto;
using stockade::testing::MsgpackWriter;
using stockade::testing::PluginProcess;

namespace {

double RssMib(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

std::unique_ptr<grpc::ClientContext> Ctx() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  return ctx;
}

std::string TaskConfig(const std::string& image) {
  MsgpackWriter w;
  const auto& attrs = stockade::nomad::TaskConfigAttributes();
  w.Map(static_cast<uint32_t>(attrs.size()));
  for (const auto& a : attrs) {
    w.Str(a.name);
    if (a.name == "image") {
      w.Str(image);
    } else if (a.name == "entrypoint") {
      w.Strings({"/bin/sleep"});
    } else if (a.name == "args") {
      w.Strings({"1000"});
    } else {
      w.Nil();
    }
  }
  return w.bytes();
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1,
                    static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5))];
}

}  // namespace

int main(int argc, char** argv) {
  std::string image, dir;
  int tasks = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--image") image = argv[i + 1];
    if (a == "--dir") dir = argv[i + 1];
    if (a == "--tasks") tasks = std::stoi(argv[i + 1]);
  }
  if (image.empty() || dir.empty()) {
    std::fprintf(stderr, "usage: nomad_driver --image REF --dir DIR [--tasks N]\n");
    return 2;
  }
  std::filesystem::create_directories(dir + "/sockets");
  PluginProcess plugin(dir + "/sockets", dir + "/plugin.log");
  const absl::Time spawned = absl::Now();
  std::string error;
  if (!plugin.Start({{"STOCKADE_LOG_LEVEL", "warn"}}, &error)) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  const double handshake_ms = absl::ToDoubleMilliseconds(absl::Now() - spawned);
  absl::SleepFor(absl::Milliseconds(300));
  const double idle_rss = RssMib(plugin.pid());

  MsgpackWriter config;
  config.Map(2).Str("state_dir").Str(dir + "/state").Str("run_dir").Str(dir + "/run");
  base::SetConfigRequest set;
  set.set_msgpack_config(config.bytes());
  base::SetConfigResponse set_resp;
  if (!plugin.Base()->SetConfig(Ctx().get(), set, &set_resp).ok()) return 1;
  {
    auto ctx = Ctx();
    auto fp = plugin.Driver()->Fingerprint(ctx.get(), {});
    drv::FingerprintResponse f;
    fp->Read(&f);
    ctx->TryCancel();
  }
  absl::SleepFor(absl::Milliseconds(300));
  const double open_rss = RssMib(plugin.pid());

  auto start = [&](int i) -> double {
    const std::string alloc = absl::StrCat(dir, "/alloc-", i);
    std::filesystem::create_directories(alloc + "/alloc/logs");
    drv::StartTaskRequest req;
    drv::TaskConfig* t = req.mutable_task();
    t->set_id(absl::StrCat("alloc-", i, "/sleep/0a1b2c3d"));
    t->set_name("sleep");
    t->set_alloc_id(absl::StrCat("alloc-", i));
    t->set_alloc_dir(alloc);
    t->set_stdout_path("/dev/null");
    t->set_stderr_path("/dev/null");
    t->set_msgpack_driver_config(TaskConfig(image));
    t->mutable_resources()->mutable_allocated_resources()->mutable_memory()->set_memory_mb(32);
    drv::StartTaskResponse resp;
    const absl::Time before = absl::Now();
    grpc::Status s = plugin.Driver()->StartTask(Ctx().get(), req, &resp);
    if (!s.ok()) {
      std::fprintf(stderr, "StartTask: %s\n", s.error_message().c_str());
      return -1;
    }
    return absl::ToDoubleMilliseconds(absl::Now() - before);
  };
  const double first_ms = start(0);  // pulls the image
  std::vector<double> latencies;
  for (int i = 1; i <= tasks; ++i) {
    const double ms = start(i);
    if (ms < 0) return 1;
    latencies.push_back(ms);
  }
  absl::SleepFor(absl::Milliseconds(300));
  const double busy_rss = RssMib(plugin.pid());

  std::printf(
      "nomad-driver-stockade: handshake after %.1f ms; idle RSS %.1f MiB (probe launch), "
      "%.1f MiB with the runtime open\n",
      handshake_ms, idle_rss, open_rss);
  std::printf(
      "StartTask to running, cached image, host network, %d in a row: p50 %.1f ms, "
      "p90 %.1f ms, max %.1f ms (first, with the pull: %.1f ms)\n",
      tasks, Percentile(latencies, 0.5), Percentile(latencies, 0.9),
      *std::max_element(latencies.begin(), latencies.end()), first_ms);
  std::printf("plugin RSS with %d tasks running: %.1f MiB\n", tasks + 1, busy_rss);

  for (int i = 0; i <= tasks; ++i) {
    drv::DestroyTaskRequest d;
    d.set_task_id(absl::StrCat("alloc-", i, "/sleep/0a1b2c3d"));
    d.set_force(true);
    drv::DestroyTaskResponse r;
    plugin.Driver()->DestroyTask(Ctx().get(), d, &r);
  }
  plugin::Empty empty;
  plugin.Controller()->Shutdown(Ctx().get(), empty, &empty);
  plugin.Wait(absl::Seconds(2));
  return 0;
}
