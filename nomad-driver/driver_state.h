// The opaque driver_state of a TaskHandle: what RecoverTask needs to find a task again after
// the plugin restarted. Nomad stores the bytes and gives them back unchanged; they carry a
// version so a later plugin can read what an earlier one wrote.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace stockade::nomad {

inline constexpr int kDriverStateVersion = 1;

struct TaskRecord {
  std::string task_id, pod_id, container_id;
  int64_t started_at_unix_nano = 0;
  // The task's own network, when it has one: its address and the advertised ports.
  std::string address;
  std::map<std::string, int> port_map;
};

std::string EncodeDriverState(const TaskRecord& task);
// InvalidArgument for bytes that are no state of ours, or a version newer than this plugin.
absl::StatusOr<TaskRecord> DecodeDriverState(absl::string_view bytes);

}  // namespace stockade::nomad
