// One Nomad task as the runtime core runs it: a pod jail of its own (its network, hostname and
// resource scope) with one container jail, the task. PlanTask turns StartTask's TaskConfig and
// the decoded `config {}` into the core's specs, checking everything before anything is made.
#pragma once

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "imagestore/registry_hosts.h"
#include "nomad-driver/config_schema.h"
#include "runtime/runtime_core.h"

namespace hashicorp::nomad::plugins::drivers::proto {
class TaskConfig;
}

namespace stockade::nomad {

// Labels that tie a pod and its container to the Nomad task.
inline constexpr char kTaskIdLabel[] = "com.hashicorp.nomad.task_id";
inline constexpr char kAllocIdLabel[] = "com.hashicorp.nomad.alloc_id";
inline constexpr char kJobLabel[] = "com.hashicorp.nomad.job_name";
inline constexpr char kGroupLabel[] = "com.hashicorp.nomad.task_group_name";
inline constexpr char kTaskNameLabel[] = "com.hashicorp.nomad.task_name";

struct TaskPlan {
  PodSandboxSpec pod;
  ContainerSpec container;
  RegistryCredentials credentials;
  bool force_pull = false;
  // The task's network of its own (the plugin's CNI network): the ports Nomad should
  // advertise, label -> port inside the pod.
  bool own_network = false;
  std::map<std::string, int> port_map;
};

// A jail- and path-safe form of a Nomad name: [A-Za-z0-9_.-], at most 63 bytes.
std::string SanitizeName(absl::string_view name);

// The memory limit Nomad means: memory_max_mb when set (memory_mb is then the reservation),
// else memory_mb; linux_resources.memory_limit_bytes when the allocation carries neither.
int64_t MemoryLimitBytes(const hashicorp::nomad::plugins::drivers::proto::TaskConfig& task);

absl::StatusOr<TaskPlan> PlanTask(const hashicorp::nomad::plugins::drivers::proto::TaskConfig& task,
                                  const TaskDriverConfig& config, const PluginConfig& plugin);

}  // namespace stockade::nomad
