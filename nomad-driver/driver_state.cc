#include "nomad-driver/driver_state.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace stockade::nomad {

std::string EncodeDriverState(const TaskRecord& task) {
  nlohmann::json j = {{"version", kDriverStateVersion},
                      {"task_id", task.task_id},
                      {"pod_id", task.pod_id},
                      {"container_id", task.container_id},
                      {"started_at_unix_nano", task.started_at_unix_nano}};
  if (!task.address.empty()) j["address"] = task.address;
  if (!task.port_map.empty()) j["port_map"] = task.port_map;
  return j.dump();
}

absl::StatusOr<TaskRecord> DecodeDriverState(absl::string_view bytes) {
  nlohmann::json j = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
  auto bad = [](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("the task handle's driver state is not nomad-driver-stockade's: ", why));
  };
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  try {
    const int version = j.value("version", 0);
    if (version < 1) return bad("no version");
    if (version > kDriverStateVersion) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the task handle was written by a newer nomad-driver-stockade (state version ", version,
          "); this plugin reads version ", kDriverStateVersion, " and older"));
    }
    TaskRecord t;
    t.task_id = j.value("task_id", "");
    t.pod_id = j.value("pod_id", "");
    t.container_id = j.value("container_id", "");
    t.started_at_unix_nano = j.value("started_at_unix_nano", int64_t{0});
    t.address = j.value("address", "");
    if (j.contains("port_map")) t.port_map = j["port_map"].get<std::map<std::string, int>>();
    if (t.pod_id.empty() || t.container_id.empty()) return bad("no pod or container id");
    return t;
  } catch (const nlohmann::json::exception& e) {
    return bad(e.what());
  }
}

}  // namespace stockade::nomad
