// Streaming and stats costs as kubelet meets them, against any CRI runtime: the exec round trip
// (Exec RPC, SPDY upgrade, streams, `true`, status), the first byte of a port-forward to an echo
// server in the pod, N exec sessions held open (the caller samples the daemon's memory), and
// ListContainerStats with C containers. Our own SPDY client (tests/support) for both runtimes.
// usage: cri_streams --socket PATH --image REF [--execs N] [--containers C] [--open K]
//                    [--host-network]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "runtime/v1/api.grpc.pb.h"
#include "tests/support/stream_client.h"

namespace v1 = ::runtime::v1;
using Clock = std::chrono::steady_clock;
using stockade::testing::CommandOptions;
using stockade::testing::CommandResult;
using stockade::testing::RunSpdyCommand;
using stockade::testing::SpdyClient;

namespace {

struct Options {
  std::string socket, image;
  int execs = 50, containers = 100, open = 10;
  bool host_network = false;
};

double Ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

std::unique_ptr<grpc::ClientContext> Ctx() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(5));
  return ctx;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5))];
}

void Print(const char* what, const std::vector<double>& ms) {
  std::printf("%s: n=%zu p50 %.2f ms, p90 %.2f ms, max %.2f ms\n", what, ms.size(),
              Percentile(ms, 0.5), Percentile(ms, 0.9), Percentile(ms, 1.0));
  std::fflush(stdout);
}

class Bench {
 public:
  explicit Bench(const Options& o)
      : o_(o),
        runtime_(v1::RuntimeService::NewStub(
            grpc::CreateChannel("unix:" + o.socket, grpc::InsecureChannelCredentials()))),
        images_(v1::ImageService::NewStub(
            grpc::CreateChannel("unix:" + o.socket, grpc::InsecureChannelCredentials()))) {}

  ~Bench() {
    for (const std::string& id : pods_) {
      v1::StopPodSandboxRequest stop;
      stop.set_pod_sandbox_id(id);
      v1::StopPodSandboxResponse stopped;
      runtime_->StopPodSandbox(Ctx().get(), stop, &stopped);
      v1::RemovePodSandboxRequest remove;
      remove.set_pod_sandbox_id(id);
      v1::RemovePodSandboxResponse removed;
      runtime_->RemovePodSandbox(Ctx().get(), remove, &removed);
    }
  }

  bool Pull() {
    v1::PullImageRequest req;
    req.mutable_image()->set_image(o_.image);
    v1::PullImageResponse resp;
    return Check("PullImage", images_->PullImage(Ctx().get(), req, &resp));
  }

  // A pod; its config for the containers.
  std::string Pod(const std::string& name, v1::PodSandboxConfig& pod) {
    pod.mutable_metadata()->set_name(name);
    pod.mutable_metadata()->set_namespace_("bench");
    pod.mutable_metadata()->set_uid("uid-" + name);
    pod.set_log_directory("/tmp/cri-streams-logs/" + name);
    auto* ns = pod.mutable_linux()->mutable_security_context()->mutable_namespace_options();
    ns->set_network(o_.host_network ? v1::NODE : v1::POD);
    v1::RunPodSandboxRequest run;
    *run.mutable_config() = pod;
    v1::RunPodSandboxResponse ran;
    if (!Check("RunPodSandbox", runtime_->RunPodSandbox(Ctx().get(), run, &ran))) return "";
    pods_.push_back(ran.pod_sandbox_id());
    return ran.pod_sandbox_id();
  }

  std::string Container(const std::string& pod_id, const v1::PodSandboxConfig& pod,
                        const std::string& name, const std::vector<std::string>& command) {
    v1::CreateContainerRequest create;
    create.set_pod_sandbox_id(pod_id);
    *create.mutable_sandbox_config() = pod;
    v1::ContainerConfig& c = *create.mutable_config();
    c.mutable_metadata()->set_name(name);
    c.mutable_image()->set_image(o_.image);
    for (const std::string& a : command) c.add_command(a);
    c.set_log_path(name + ".log");
    v1::CreateContainerResponse created;
    if (!Check("CreateContainer", runtime_->CreateContainer(Ctx().get(), create, &created))) {
      return "";
    }
    v1::StartContainerRequest start;
    start.set_container_id(created.container_id());
    v1::StartContainerResponse started;
    if (!Check("StartContainer", runtime_->StartContainer(Ctx().get(), start, &started))) return "";
    return created.container_id();
  }

  std::string ExecUrl(const std::string& id, const std::vector<std::string>& cmd, bool stdin) {
    v1::ExecRequest req;
    req.set_container_id(id);
    for (const std::string& a : cmd) req.add_cmd(a);
    req.set_stdin(stdin);
    req.set_stdout(true);
    req.set_stderr(true);
    v1::ExecResponse resp;
    Check("Exec", runtime_->Exec(Ctx().get(), req, &resp));
    return resp.url();
  }

  int Run() {
    if (!Pull()) return 1;
    v1::PodSandboxConfig pod;
    const std::string pod_id = Pod("streams", pod);
    if (pod_id.empty()) return 1;
    const std::string sleeper = Container(pod_id, pod, "sleeper", {"sleep", "3600"});
    const std::string echo =
        Container(pod_id, pod, "echo", {"nc", "-ll", "-p", "9000", "-e", "cat"});
    if (sleeper.empty() || echo.empty()) return 1;

    std::vector<double> exec_ms;
    for (int i = 0; i < o_.execs; ++i) {
      const auto t0 = Clock::now();
      CommandResult r = RunSpdyCommand(ExecUrl(sleeper, {"true"}, false), {});
      const auto t1 = Clock::now();
      if (!r.completed) return Fail("exec true did not complete: " + r.error);
      exec_ms.push_back(Ms(t0, t1));
    }
    Print("exec round trip (Exec + SPDY + `true` + status)", exec_ms);

    std::vector<double> forward_ms;
    for (int i = 0; i < 20; ++i) {
      const auto t0 = Clock::now();
      v1::PortForwardRequest req;
      req.set_pod_sandbox_id(pod_id);
      req.add_port(9000);
      v1::PortForwardResponse resp;
      if (!Check("PortForward", runtime_->PortForward(Ctx().get(), req, &resp))) return 1;
      std::unique_ptr<SpdyClient> c =
          SpdyClient::Connect(resp.url(), {"portforward.k8s.io"}, nullptr);
      if (!c) return Fail("port-forward upgrade refused");
      const uint32_t error =
          c->Open({{"streamtype", "error"}, {"port", "9000"}, {"requestid", "0"}}, true);
      const uint32_t data = c->Open({{"streamtype", "data"}, {"port", "9000"}, {"requestid", "0"}});
      c->Send(data, "x");
      if (!c->PumpUntil([&] { return !c->data[data].empty(); }, absl::Seconds(10))) {
        return Fail("no first byte from the pod: " + c->data[error]);
      }
      forward_ms.push_back(Ms(t0, Clock::now()));
      c->Close();
      if (i == 0) forward_ms.clear();  // the first one waits for nc to listen
    }
    Print("port-forward first byte (PortForward + SPDY + dial + echo)", forward_ms);

    // K exec sessions held open, each with `cat` reading stdin; memory sampled before and with.
    std::printf("ready: 0 exec sessions open\n");
    std::fflush(stdout);
    std::string line;
    std::getline(std::cin, line);
    std::vector<std::unique_ptr<SpdyClient>> open;
    for (int i = 0; i < o_.open; ++i) {
      std::unique_ptr<SpdyClient> c =
          SpdyClient::Connect(ExecUrl(sleeper, {"cat"}, true), {"v4.channel.k8s.io"}, nullptr);
      if (!c) return Fail("exec upgrade refused");
      for (const char* type : {"error", "stdin", "stdout", "stderr"})
        c->Open({{"streamtype", type}});
      c->PumpUntil([&] { return c->replied.size() == 4; }, absl::Seconds(10));
      open.push_back(std::move(c));
    }
    std::printf("ready: %d exec sessions open\n", o_.open);
    std::fflush(stdout);
    std::getline(std::cin, line);
    for (auto& c : open) c->Close();
    open.clear();

    // C containers, then ListContainerStats.
    for (int i = 0; i < o_.containers - 2; ++i) {
      if (Container(pod_id, pod, absl::StrCat("s", i), {"sleep", "3600"}).empty()) return 1;
    }
    std::vector<double> stats_ms;
    size_t listed = 0;
    for (int i = 0; i < 20; ++i) {
      v1::ListContainerStatsResponse resp;
      const auto t0 = Clock::now();
      if (!Check("ListContainerStats", runtime_->ListContainerStats(Ctx().get(), {}, &resp))) {
        return 1;
      }
      stats_ms.push_back(Ms(t0, Clock::now()));
      listed = resp.stats_size();
    }
    Print(absl::StrCat("ListContainerStats (", listed, " containers)").c_str(), stats_ms);
    return 0;
  }

 private:
  bool Check(const char* what, const grpc::Status& s) {
    if (!s.ok()) std::fprintf(stderr, "%s: %s\n", what, s.error_message().c_str());
    return s.ok();
  }
  int Fail(const std::string& why) {
    std::fprintf(stderr, "%s\n", why.c_str());
    return 1;
  }

  const Options& o_;
  std::unique_ptr<v1::RuntimeService::Stub> runtime_;
  std::unique_ptr<v1::ImageService::Stub> images_;
  std::vector<std::string> pods_;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--socket")
      o.socket = next();
    else if (a == "--image")
      o.image = next();
    else if (a == "--execs")
      o.execs = std::stoi(next());
    else if (a == "--containers")
      o.containers = std::stoi(next());
    else if (a == "--open")
      o.open = std::stoi(next());
    else if (a == "--host-network")
      o.host_network = true;
    else {
      std::fprintf(stderr,
                   "usage: cri_streams --socket PATH --image REF [--execs N] "
                   "[--containers C] [--open K] [--host-network]\n");
      return 2;
    }
  }
  if (o.socket.empty() || o.image.empty()) return 2;
  Bench bench(o);
  return bench.Run();
}
