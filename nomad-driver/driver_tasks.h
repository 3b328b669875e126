// Helpers the Driver RPC files share.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "google/protobuf/timestamp.pb.h"
#include "nomad-driver/plugin_runtime.h"
#include "plugins/drivers/proto/driver.pb.h"
#include "runtime/runtime_core.h"

namespace stockade::nomad {

// Go's zero time.Time (year 1) in Unix seconds: what InspectTask sends for "not yet".
inline constexpr int64_t kZeroTimeSeconds = -62135596800;

absl::StatusOr<RuntimeCore*> CoreOf(PluginRuntime& plugin);
void SetTimestamp(int64_t unix_nano, google::protobuf::Timestamp* t);
void FillExitResult(const ContainerView& c,
                    hashicorp::nomad::plugins::drivers::proto::ExitResult* r);
// Created, running or stopping: not yet exited.
bool Running(const ContainerView& c);

}  // namespace stockade::nomad
