// The single layer every CRI call passes through: it runs the handler, turns its absl::Status
// into a gRPC status, logs the call, and records a latency histogram and an error counter per
// method in Prometheus. Handlers never log or map codes themselves.
#pragma once

#include <exception>
#include <memory>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "grpcpp/support/status.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace stockade {

class RpcInstrumentation {
 public:
  // Registers the metric families in `registry` and one series per method of `services`
  // (fully qualified gRPC service names, e.g. "runtime.v1.RuntimeService").
  RpcInstrumentation(prometheus::Registry& registry, const std::vector<std::string>& services);

  // Runs `handler` (returning absl::Status) as the call `method` of `service` (short names).
  // Once Drain() has begun, new calls are refused with UNAVAILABLE.
  template <typename Handler>
  grpc::Status Serve(absl::string_view method, Handler&& handler) {
    const absl::Time start = absl::Now();
    if (!BeginCall()) {
      return Finish(method, start,
                    absl::UnavailableError("stockaded is shutting down; retry when it is back"));
    }
    absl::Status status;
    try {
      status = handler();
    } catch (const std::exception& e) {
      // A last guard: no client input may take the daemon down.
      status = absl::InternalError(std::string("unexpected exception: ") + e.what());
    }
    EndCall();
    return Finish(method, start, status);
  }

  // Refuses new calls from now on and waits until the calls in flight have finished or
  // `deadline` passes. Returns how many were still running at the deadline.
  int Drain(absl::Time deadline);
  // Drain() has begun: long-lived streams end.
  bool draining() {
    absl::MutexLock lock(&calls_mu_);
    return draining_;
  }

  // An UNIMPLEMENTED status for a CRI method stockade does not serve yet.
  static absl::Status NotImplementedYet(absl::string_view method);

 private:
  struct MethodMetrics {
    std::string service;
    prometheus::Histogram* latency;
  };

  grpc::Status Finish(absl::string_view method, absl::Time start, const absl::Status& status);
  bool BeginCall();
  void EndCall();

  absl::Mutex calls_mu_;
  int calls_in_flight_ ABSL_GUARDED_BY(calls_mu_) = 0;
  bool draining_ ABSL_GUARDED_BY(calls_mu_) = false;

  prometheus::Family<prometheus::Histogram>& latency_family_;
  prometheus::Family<prometheus::Counter>& error_family_;
  absl::flat_hash_map<std::string, MethodMetrics> methods_;  // filled once, then read-only
};

}  // namespace stockade
