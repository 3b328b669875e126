#include "nomad-driver/plugin_errors.h"

#include "google/rpc/status.pb.h"
#include "plugins/shared/structs/proto/recoverable_error.pb.h"

namespace stockade::nomad {

grpc::Status ToPluginStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // Nomad's client reads UNAVAILABLE and CANCELLED as "the plugin may have died" and waits
  // for it (helper/pluginutils/grpcutils): the core's own use of them is another failure.
  grpc::StatusCode code = static_cast<grpc::StatusCode>(status.code());
  if (status.code() == absl::StatusCode::kUnavailable) code = grpc::StatusCode::INTERNAL;
  if (status.code() == absl::StatusCode::kCancelled) code = grpc::StatusCode::ABORTED;
  return grpc::Status(code, std::string(status.message()));
}

bool IsRecoverable(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kUnimplemented:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kUnauthenticated:
      return false;
    default:
      return true;
  }
}

grpc::Status ToStartTaskStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  hashicorp::nomad::plugins::shared::structs::RecoverableError recoverable;
  recoverable.set_recoverable(IsRecoverable(status));
  google::rpc::Status details;
  details.set_code(static_cast<int>(status.code()));
  details.set_message(std::string(status.message()));
  details.add_details()->PackFrom(recoverable);
  return grpc::Status(ToPluginStatus(status).error_code(), std::string(status.message()),
                      details.SerializeAsString());
}

}  // namespace stockade::nomad
