// The one mapping from the core's absl::Status to the gRPC status Nomad's client sees. Errors of
// StartTask carry a hashicorp.nomad.plugins.shared.structs.RecoverableError detail (in
// grpc-status-details-bin), which tells Nomad whether restarting the task may help.
#pragma once

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace stockade::nomad {

grpc::Status ToPluginStatus(const absl::Status& status);
// The same, with the RecoverableError detail: recoverable unless the request itself is wrong.
grpc::Status ToStartTaskStatus(const absl::Status& status);
bool IsRecoverable(const absl::Status& status);

}  // namespace stockade::nomad
