#include "cri/daemon/daemon.h"

#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/logging.h"
#include "common/startup_memory.h"
#include "cri/cri_server.h"
#include "cri/image_service.h"
#include "cri/rpc_instrumentation.h"
#include "cri/runtime_service.h"
#include "cri/stream_targets.h"
#include "imagestore/image_store.h"
#include "node/node_runtime.h"
#include "prometheus/registry.h"
#include "runtime/metrics/metrics_server.h"
#include "runtime/runtime_core.h"
#include "runtime/runtime_settings.h"
#include "streaming/streaming_server.h"

namespace stockade {
namespace {

sigset_t TerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

// Waits for SIGTERM or SIGINT. After two seconds of serving, gives back the start-up memory:
// late enough that start-up and the first calls are not slowed by it, and that short-lived
// clients which mapped the same libraries are gone.
int WaitForTerminationSignal() {
  const sigset_t set = TerminationSignals();
  const timespec settle{2, 0};
  int signal_number = ::sigtimedwait(&set, nullptr, &settle);
  if (signal_number > 0) return signal_number;
  const long released = ReleaseStartupMemory();
  Log(LogLevel::kDebug, "released start-up memory", {{"bytes", absl::StrCat(released)}});
  while (::sigwait(&set, &signal_number) != 0) {
  }
  return signal_number;
}

int Fail(const absl::Status& status) {
  Log(LogLevel::kError, "stockaded cannot start", {{"error", std::string(status.message())}});
  return 1;
}

}  // namespace

void BlockTerminationSignals() {
  sigset_t set = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

int RunDaemon(const Config& config, const std::string& version) {
  absl::StatusOr<std::unique_ptr<NodeRuntime>> node = NodeRuntime::Open(config, version);
  if (!node.ok()) return Fail(node.status());
  RuntimeCore& core = (*node)->core();

  auto registry = std::make_shared<prometheus::Registry>();
  RpcInstrumentation rpc(*registry, {"runtime.v1.RuntimeService", "runtime.v1.ImageService"});
  std::unique_ptr<MetricsServer> metrics;
  DaemonInfo info{version, "", RenderConfigJson(config), (*node)->conditions()};
  if (!config.metrics_address.empty()) {
    absl::StatusOr<std::unique_ptr<MetricsServer>> started =
        MetricsServer::Start(config.metrics_address, registry);
    if (!started.ok()) return Fail(started.status());
    metrics = *std::move(started);
    info.metrics_address = metrics->bound_address();
  }

  core.WatchExits(absl::Milliseconds(250));
  std::unique_ptr<StreamTargets> stream_targets = NewCoreStreamTargets(core);
  StreamingServerOptions streaming_options;
  streaming_options.address = config.streaming_address;
  streaming_options.idle_timeout = config.streaming_idle_timeout;
  streaming_options.tls_cert_file = config.streaming_tls_cert_file;
  streaming_options.tls_key_file = config.streaming_tls_key_file;
  absl::StatusOr<std::unique_ptr<StreamingServer>> streaming =
      StreamingServer::Start(streaming_options, *stream_targets);
  if (!streaming.ok()) return Fail(streaming.status());
  RuntimeServiceImpl runtime_service(rpc, config, info, (*node)->settings(), core, **streaming);
  ImageServiceImpl image_service(rpc, (*node)->images());
  CriServerOptions options{config.socket_path, static_cast<int>(config.grpc.max_recv_message_bytes),
                           static_cast<int>(config.grpc.max_send_message_bytes)};
  absl::StatusOr<std::unique_ptr<CriServer>> server =
      CriServer::Start(options, {&runtime_service, &image_service});
  if (!server.ok()) return Fail(server.status());

  const std::string endpoint = absl::StrCat("unix://", config.socket_path);
  Log(LogLevel::kInfo, "stockaded is serving CRI",
      {{"version", version},
       {"endpoint", endpoint},
       {"state_dir", config.state_dir},
       {"metrics", info.metrics_address.empty() ? "off" : info.metrics_address},
       {"streaming", (*streaming)->base_url()},
       {"crictl", absl::StrCat("crictl --runtime-endpoint ", endpoint, " version")},
       {"kubelet", absl::StrCat("--container-runtime-endpoint=", endpoint)}});

  const int signal_number = WaitForTerminationSignal();
  Log(LogLevel::kInfo, "stopping: finishing in-flight calls",
      {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"},
       {"timeout", absl::FormatDuration(config.grpc.shutdown_timeout)}});
  // Stop taking new connections, refuse new calls, let the running ones finish (bounded),
  // then close the server; with nothing in flight, idle client connections are cut at once.
  (*server)->RemoveSocket();
  const int unfinished = rpc.Drain(absl::Now() + config.grpc.shutdown_timeout);
  if (unfinished > 0) {
    // gRPC would wait for their handlers, and the state they use must not be torn down under
    // them: leave now. What they left half done (a pull's temp files) is discarded at the next
    // start, as after a crash; every record written so far is synced.
    Log(LogLevel::kWarn, "calls still running at the shutdown deadline are abandoned",
        {{"calls", absl::StrCat(unfinished)}});
    std::fflush(nullptr);
    std::_Exit(0);
  }
  // Every handler has returned, but the last answers may still be on their way out: give them
  // a moment (gRPC returns as soon as they are sent; idle connections do not hold it up).
  (*server)->Shutdown(absl::Now() + absl::Seconds(2));
  // civetweb notices a stop only at its 2 s poll quantum; the process is about to exit, so the
  // metrics listener's threads are left for the kernel to end.
  metrics.release();
  Log(LogLevel::kInfo, "stockaded stopped");
  return 0;
}

}  // namespace stockade
