#include "cri/rpc_instrumentation.h"

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "cri/grpc_status.h"
#include "google/protobuf/descriptor.h"

namespace stockade {
namespace {

// From 100 µs (a Version call) to 4 min (kubelet's RunPodSandbox deadline).
const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
      0.25,   0.5,     1,      2.5,   5,      10,    30,   60,    120,  240};
  return *buckets;
}

std::string CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "Canceled";
    case grpc::StatusCode::UNKNOWN:
      return "Unknown";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "InvalidArgument";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DeadlineExceeded";
    case grpc::StatusCode::NOT_FOUND:
      return "NotFound";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "AlreadyExists";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PermissionDenied";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "ResourceExhausted";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FailedPrecondition";
    case grpc::StatusCode::ABORTED:
      return "Aborted";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OutOfRange";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "Unimplemented";
    case grpc::StatusCode::INTERNAL:
      return "Internal";
    case grpc::StatusCode::UNAVAILABLE:
      return "Unavailable";
    case grpc::StatusCode::DATA_LOSS:
      return "DataLoss";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "Unauthenticated";
    default:
      return "Unknown";
  }
}

}  // namespace

RpcInstrumentation::RpcInstrumentation(prometheus::Registry& registry,
                                       const std::vector<std::string>& services)
    : latency_family_(prometheus::BuildHistogram()
                          .Name("stockade_cri_request_duration_seconds")
                          .Help("Latency of CRI calls served by stockaded, by method.")
                          .Register(registry)),
      error_family_(prometheus::BuildCounter()
                        .Name("stockade_cri_request_errors_total")
                        .Help("CRI calls that returned an error, by method and gRPC code.")
                        .Register(registry)) {
  const google::protobuf::DescriptorPool* pool = google::protobuf::DescriptorPool::generated_pool();
  for (const std::string& full_name : services) {
    const google::protobuf::ServiceDescriptor* service = pool->FindServiceByName(full_name);
    if (service == nullptr) continue;
    for (int i = 0; i < service->method_count(); ++i) {
      const std::string method = service->method(i)->name();
      MethodMetrics& m = methods_[method];
      m.service = service->name();
      m.latency =
          &latency_family_.Add({{"service", m.service}, {"method", method}}, LatencyBuckets());
    }
  }
}

bool RpcInstrumentation::BeginCall() {
  absl::MutexLock lock(&calls_mu_);
  if (draining_) return false;
  ++calls_in_flight_;
  return true;
}

void RpcInstrumentation::EndCall() {
  absl::MutexLock lock(&calls_mu_);
  --calls_in_flight_;
}

int RpcInstrumentation::Drain(absl::Time deadline) {
  absl::MutexLock lock(&calls_mu_);
  draining_ = true;
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(calls_mu_) { return calls_in_flight_ == 0; };
  calls_mu_.AwaitWithDeadline(absl::Condition(&idle), deadline);
  return calls_in_flight_;
}

absl::Status RpcInstrumentation::NotImplementedYet(absl::string_view method) {
  return absl::UnimplementedError(
      absl::StrCat(method, " is not implemented by this version of stockade"));
}

grpc::Status RpcInstrumentation::Finish(absl::string_view method, absl::Time start,
                                        const absl::Status& status) {
  const absl::Duration elapsed = absl::Now() - start;
  grpc::Status result = ToGrpcStatus(status);
  auto it = methods_.find(method);
  const std::string service = it != methods_.end() ? it->second.service : "unknown";
  if (it != methods_.end()) it->second.latency->Observe(absl::ToDoubleSeconds(elapsed));
  if (!result.ok()) {
    const std::string code = CodeName(result.error_code());
    error_family_.Add({{"service", service}, {"method", std::string(method)}, {"code", code}})
        .Increment();
    const LogLevel level = result.error_code() == grpc::StatusCode::INTERNAL ||
                                   result.error_code() == grpc::StatusCode::UNKNOWN ||
                                   result.error_code() == grpc::StatusCode::DATA_LOSS
                               ? LogLevel::kError
                               : LogLevel::kWarn;
    Log(level, "CRI call failed",
        {{"rpc", std::string(method)},
         {"code", code},
         {"error", std::string(status.message())},
         {"duration", absl::FormatDuration(elapsed)}});
  } else if (LogEnabled(LogLevel::kDebug)) {
    Log(LogLevel::kDebug, "CRI call",
        {{"rpc", std::string(method)}, {"duration", absl::FormatDuration(elapsed)}});
  }
  return result;
}

}  // namespace stockade
