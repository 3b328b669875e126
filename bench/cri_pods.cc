// A CRI client that times pod start-up the way kubelet drives it: RunPodSandbox, then
// CreateContainer and StartContainer of one container, for N pods in a row and then M pods at
// once. It prints the figures, says "ready" and waits for a line on stdin (so the caller can
// sample memory with every pod running), then stops and removes every pod it made.
// usage: cri_pods --socket PATH --image REF [--pods N] [--concurrent M] [--parallel P]
//                 [--host-network] [--latencies FILE]
// --parallel P starts the M concurrent pods P at a time (default: all M at once);
// --latencies FILE writes one line per pod: phase, RunPodSandbox, CreateContainer,
// StartContainer and their sum in ms (for bench/plot_latencies.sh).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "grpcpp/create_channel.h"
#include "runtime/v1/api.grpc.pb.h"

namespace v1 = ::runtime::v1;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string socket, image, log_dir = "/tmp/cri-pods-logs";
  int pods = 50, concurrent = 100, parallel = 0;  // parallel 0: all concurrent pods at once
  bool host_network = false;
  std::string latencies;
};

struct Timing {
  double run_ms = 0, create_ms = 0, start_ms = 0;
  double total() const { return run_ms + create_ms + start_ms; }
};

double Ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

std::unique_ptr<grpc::ClientContext> Ctx() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(5));
  return ctx;
}

class Client {
 public:
  Client(const Options& o, std::shared_ptr<grpc::Channel> channel)
      : o_(o),
        runtime_(v1::RuntimeService::NewStub(channel)),
        images_(v1::ImageService::NewStub(channel)) {}

  bool Pull() {
    v1::PullImageRequest req;
    req.mutable_image()->set_image(o_.image);
    v1::PullImageResponse resp;
    grpc::Status s = images_->PullImage(Ctx().get(), req, &resp);
    if (!s.ok()) std::fprintf(stderr, "PullImage: %s\n", s.error_message().c_str());
    return s.ok();
  }

  // One pod with one sleeping container; false (with the error on stderr) on failure.
  bool StartPod(const std::string& name, Timing* t) {
    v1::PodSandboxConfig pod;
    pod.mutable_metadata()->set_name(name);
    pod.mutable_metadata()->set_namespace_("bench");
    pod.mutable_metadata()->set_uid("uid-" + name);
    if (!o_.host_network) pod.set_hostname(name);  // kubelet sends none on the host network
    pod.set_log_directory(o_.log_dir + "/" + name);
    auto* ns = pod.mutable_linux()->mutable_security_context()->mutable_namespace_options();
    ns->set_network(o_.host_network ? v1::NODE : v1::POD);
    ns->set_pid(v1::CONTAINER);
    v1::RunPodSandboxRequest run;
    *run.mutable_config() = pod;
    v1::RunPodSandboxResponse ran;
    const auto t0 = Clock::now();
    grpc::Status s = runtime_->RunPodSandbox(Ctx().get(), run, &ran);
    const auto t1 = Clock::now();
    if (!s.ok()) return Fail("RunPodSandbox", s);
    Remember(ran.pod_sandbox_id());

    v1::CreateContainerRequest create;
    create.set_pod_sandbox_id(ran.pod_sandbox_id());
    *create.mutable_sandbox_config() = pod;
    v1::ContainerConfig& c = *create.mutable_config();
    c.mutable_metadata()->set_name("sleeper");
    c.mutable_image()->set_image(o_.image);
    c.add_command("/bin/sleep");
    c.add_args("3600");
    c.set_log_path("sleeper.log");
    c.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(
        v1::CONTAINER);
    v1::CreateContainerResponse created;
    s = runtime_->CreateContainer(Ctx().get(), create, &created);
    const auto t2 = Clock::now();
    if (!s.ok()) return Fail("CreateContainer", s);

    v1::StartContainerRequest start;
    start.set_container_id(created.container_id());
    v1::StartContainerResponse started;
    s = runtime_->StartContainer(Ctx().get(), start, &started);
    const auto t3 = Clock::now();
    if (!s.ok()) return Fail("StartContainer", s);
    *t = {Ms(t0, t1), Ms(t1, t2), Ms(t2, t3)};
    return true;
  }

  void RemoveAll() {
    for (const std::string& id : pods_) {
      v1::StopPodSandboxRequest stop;
      stop.set_pod_sandbox_id(id);
      v1::StopPodSandboxResponse stopped;
      runtime_->StopPodSandbox(Ctx().get(), stop, &stopped);
      v1::RemovePodSandboxRequest remove;
      remove.set_pod_sandbox_id(id);
      v1::RemovePodSandboxResponse removed;
      grpc::Status s = runtime_->RemovePodSandbox(Ctx().get(), remove, &removed);
      if (!s.ok()) Fail("RemovePodSandbox", s);
    }
  }

 private:
  bool Fail(const char* what, const grpc::Status& s) {
    std::fprintf(stderr, "%s: %s\n", what, s.error_message().c_str());
    return false;
  }
  void Remember(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    pods_.push_back(id);
  }

  const Options& o_;
  std::unique_ptr<v1::RuntimeService::Stub> runtime_;
  std::unique_ptr<v1::ImageService::Stub> images_;
  std::mutex mu_;
  std::vector<std::string> pods_;
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5))];
}

void Report(const char* label, const std::vector<Timing>& t, FILE* latencies) {
  std::vector<double> run, create, start, total;
  for (const Timing& x : t) {
    run.push_back(x.run_ms);
    create.push_back(x.create_ms);
    start.push_back(x.start_ms);
    total.push_back(x.total());
    if (latencies != nullptr) {
      std::fprintf(latencies, "%s\t%.3f\t%.3f\t%.3f\t%.3f\n", label, x.run_ms, x.create_ms,
                   x.start_ms, x.total());
    }
  }
  std::printf(
      "%s: %zu pods | p50 RunPodSandbox %.1f ms  CreateContainer %.1f ms  StartContainer %.1f ms"
      "  pod+container %.1f ms | p90 %.1f ms  p99 %.1f ms\n",
      label, t.size(), Percentile(run, 0.5), Percentile(create, 0.5), Percentile(start, 0.5),
      Percentile(total, 0.5), Percentile(total, 0.9), Percentile(total, 0.99));
  std::printf("%s: p99 RunPodSandbox %.1f ms  CreateContainer %.1f ms  StartContainer %.1f ms\n",
              label, Percentile(run, 0.99), Percentile(create, 0.99), Percentile(start, 0.99));
}

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
    else if (a == "--pods")
      o.pods = std::stoi(next());
    else if (a == "--concurrent")
      o.concurrent = std::stoi(next());
    else if (a == "--parallel")
      o.parallel = std::stoi(next());
    else if (a == "--latencies")
      o.latencies = next();
    else if (a == "--host-network")
      o.host_network = true;
    else if (a == "--log-dir")
      o.log_dir = next();
    else {
      std::fprintf(stderr,
                   "usage: cri_pods --socket PATH --image REF [--pods N] "
                   "[--concurrent M] [--parallel P] [--host-network] [--log-dir DIR] "
                   "[--latencies FILE]\n");
      return 2;
    }
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  Client client(
      o, grpc::CreateCustomChannel("unix://" + o.socket, grpc::InsecureChannelCredentials(), args));
  if (!client.Pull()) return 1;
  // One pod first, untimed: both runtimes warm their caches (image config, first shim exec).
  auto fail = [&] {
    client.RemoveAll();
    return 1;
  };
  Timing warm;
  if (!client.StartPod("warm-up", &warm)) return fail();

  std::vector<Timing> sequential(o.pods);
  for (int i = 0; i < o.pods; ++i) {
    if (!client.StartPod("seq-" + std::to_string(i), &sequential[i])) return fail();
  }
  FILE* latencies = o.latencies.empty() ? nullptr : std::fopen(o.latencies.c_str(), "w");
  if (!o.latencies.empty() && latencies == nullptr) {
    std::fprintf(stderr, "cannot write %s\n", o.latencies.c_str());
    return fail();
  }
  Report("sequential", sequential, latencies);

  std::vector<Timing> concurrent(o.concurrent);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  std::atomic<int> next_pod{0};
  const int workers = o.parallel > 0 ? std::min(o.parallel, o.concurrent) : o.concurrent;
  const auto t0 = Clock::now();
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      for (int i = next_pod++; i < o.concurrent; i = next_pod++) {
        if (!client.StartPod("conc-" + std::to_string(i), &concurrent[i])) ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const double wall = Ms(t0, Clock::now());
  if (failures > 0) return fail();
  Report("concurrent", concurrent, latencies);
  if (latencies != nullptr) std::fclose(latencies);
  std::printf("concurrent: all %d pods running after %.0f ms (%d at a time)\n", o.concurrent, wall,
              workers);
  std::printf("ready\n");
  std::fflush(stdout);
  std::string line;
  std::getline(std::cin, line);
  const auto r0 = Clock::now();
  client.RemoveAll();
  std::printf("stop+remove of %d pods: %.0f ms\n", o.pods + o.concurrent + 1, Ms(r0, Clock::now()));
  return 0;
}
