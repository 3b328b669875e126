// The one mapping from the core's absl::Status to the gRPC status kubelet and crictl see.
// kubelet branches on codes (NotFound, DeadlineExceeded, Unimplemented), never on text.
#pragma once

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace stockade {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace stockade
