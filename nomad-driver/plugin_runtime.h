// The plugin's runtime, opened lazily: a plugin process Nomad launches only to probe it
// (PluginInfo, ConfigSchema, SetConfig, then SIGKILL) must not take the state dir's lock or
// reconcile running tasks, so the NodeRuntime opens at the first call that needs a task.
// The config set by SetConfig stays in memory: a Nomad agent that restarts and reattaches
// sends no second SetConfig.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "nomad-driver/config_schema.h"
#include "nomad-driver/driver_state.h"

namespace stockade {
class NodeRuntime;
}

namespace stockade::nomad {

// A message for TaskEvents: the driver's progress on a task (image pulls).
struct TaskEventNote {
  std::string task_id, alloc_id, task_name, message;
  std::map<std::string, std::string> annotations;
  int64_t at_unix_nano = 0;
};

class PluginRuntime {
 public:
  explicit PluginRuntime(std::string version);
  ~PluginRuntime();

  // A config already in effect may be set again unchanged; a different one once the runtime
  // is open is refused (its dirs are in use).
  absl::Status Configure(const PluginConfig& config);
  PluginConfig config() const;
  bool configured() const;
  // One core's MHz as Nomad counts compute (from SetConfig's client topology); 0 when Nomad
  // sent none (a probe, or Nomad before 1.7).
  void SetCoreMhz(double mhz);
  double core_mhz() const;
  const std::string& version() const { return version_; }

  // The runtime, opened on first use (FailedPrecondition before SetConfig).
  absl::StatusOr<NodeRuntime*> Runtime();

  // The tasks this process knows of (started or recovered), by Nomad task ID.
  void Remember(const TaskRecord& task);
  void Forget(const std::string& task_id);
  // Started or recovered by this process (not merely found in the runtime).
  bool Known(const std::string& task_id) const;
  // Known, or found again by its label in the runtime (after a plugin restart).
  absl::StatusOr<TaskRecord> Find(const std::string& task_id);

  // TaskEvents: every subscriber sees every later event.
  void PublishEvent(TaskEventNote event);
  class EventQueue;
  std::shared_ptr<EventQueue> SubscribeEvents();
  void UnsubscribeEvents(const std::shared_ptr<EventQueue>& queue);

 private:
  const std::string version_;
  mutable absl::Mutex mu_;
  std::optional<PluginConfig> config_ ABSL_GUARDED_BY(mu_);
  double core_mhz_ ABSL_GUARDED_BY(mu_) = 0;
  std::unique_ptr<NodeRuntime> runtime_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, TaskRecord> tasks_ ABSL_GUARDED_BY(mu_);
  absl::Mutex events_mu_;
  std::vector<std::shared_ptr<EventQueue>> event_queues_ ABSL_GUARDED_BY(events_mu_);
};

class PluginRuntime::EventQueue {
 public:
  // The next event, waiting at most `timeout`.
  std::optional<TaskEventNote> Next(absl::Duration timeout);
  void Push(TaskEventNote event);

 private:
  absl::Mutex mu_;
  std::vector<TaskEventNote> queue_ ABSL_GUARDED_BY(mu_);
};

}  // namespace stockade::nomad
