#include "nomad-driver/plugin_runtime.h"

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "node/node_runtime.h"
#include "nomad-driver/task_plan.h"
#include "runtime/config/config.h"
#include "runtime/runtime_core.h"

namespace stockade::nomad {
namespace {

bool SameConfig(const PluginConfig& a, const PluginConfig& b) {
  return a.state_dir == b.state_dir && a.run_dir == b.run_dir && a.config_file == b.config_file &&
         a.network == b.network && a.allow_privileged == b.allow_privileged &&
         a.shim_path == b.shim_path;
}

absl::StatusOr<Config> RuntimeConfig(const PluginConfig& plugin) {
  Config config = DefaultConfig();
  if (!plugin.config_file.empty()) {
    absl::StatusOr<Config> loaded = LoadConfigFile(plugin.config_file);
    if (!loaded.ok()) return loaded.status();
    config = *std::move(loaded);
  }
  // The plugin's own dirs: never stockaded's, whose lock and records they would share.
  config.state_dir = plugin.state_dir;
  config.run_dir = plugin.run_dir;
  return config;
}

}  // namespace

PluginRuntime::PluginRuntime(std::string version) : version_(std::move(version)) {}
PluginRuntime::~PluginRuntime() = default;

absl::Status PluginRuntime::Configure(const PluginConfig& config) {
  absl::MutexLock lock(&mu_);
  if (runtime_ != nullptr && config_ && !SameConfig(*config_, config)) {
    return absl::FailedPreconditionError(
        "the plugin's config cannot change while it runs tasks; restart the Nomad client");
  }
  config_ = config;
  return absl::OkStatus();
}

PluginConfig PluginRuntime::config() const {
  absl::MutexLock lock(&mu_);
  return config_.value_or(PluginConfig{});
}

void PluginRuntime::SetCoreMhz(double mhz) {
  absl::MutexLock lock(&mu_);
  core_mhz_ = mhz;
}

double PluginRuntime::core_mhz() const {
  absl::MutexLock lock(&mu_);
  return core_mhz_;
}

bool PluginRuntime::configured() const {
  absl::MutexLock lock(&mu_);
  return config_.has_value();
}

absl::StatusOr<NodeRuntime*> PluginRuntime::Runtime() {
  absl::MutexLock lock(&mu_);
  if (runtime_ != nullptr) return runtime_.get();
  if (!config_) {
    return absl::FailedPreconditionError("the plugin has no config yet (SetConfig comes first)");
  }
  absl::StatusOr<Config> config = RuntimeConfig(*config_);
  if (!config.ok()) return config.status();
  absl::StatusOr<std::unique_ptr<NodeRuntime>> opened =
      NodeRuntime::Open(*config, version_, config_->shim_path);
  if (!opened.ok()) {
    return absl::Status(
        opened.status().code(),
        absl::StrCat("open the runtime in ", config_->state_dir, ": ", opened.status().message()));
  }
  runtime_ = *std::move(opened);
  runtime_->core().WatchExits(absl::Milliseconds(250));
  // After a Nomad agent restart the plugin's stderr may be a dead pipe: the lines go to a file
  // too, from the first real use on (a probe launch writes nothing anywhere).
  const std::string log_file = absl::StrCat(config_->state_dir, "/nomad-driver-stockade.log");
  if (absl::Status s = AddLogFile(log_file); !s.ok()) {
    Log(LogLevel::kWarn, "no log file", {{"error", std::string(s.message())}});
  }
  Log(LogLevel::kInfo, "runtime open", {{"state_dir", config_->state_dir}});
  return runtime_.get();
}

void PluginRuntime::Remember(const TaskRecord& task) {
  absl::MutexLock lock(&mu_);
  tasks_[task.task_id] = task;
}

bool PluginRuntime::Known(const std::string& task_id) const {
  absl::MutexLock lock(&mu_);
  return tasks_.count(task_id) > 0;
}

void PluginRuntime::Forget(const std::string& task_id) {
  absl::MutexLock lock(&mu_);
  tasks_.erase(task_id);
}

absl::StatusOr<TaskRecord> PluginRuntime::Find(const std::string& task_id) {
  {
    absl::MutexLock lock(&mu_);
    auto it = tasks_.find(task_id);
    if (it != tasks_.end()) return it->second;
  }
  absl::StatusOr<NodeRuntime*> runtime = Runtime();
  if (!runtime.ok()) return runtime.status();
  ContainerFilter filter;
  filter.labels[kTaskIdLabel] = task_id;
  std::vector<ContainerView> found = (*runtime)->core().ListContainers(filter);
  if (found.empty()) return absl::NotFoundError(absl::StrCat("task ", task_id, " not found"));
  TaskRecord task;
  task.task_id = task_id;
  task.pod_id = found.front().pod_id;
  task.container_id = found.front().id;
  task.started_at_unix_nano = found.front().started_at_unix_nano;
  Remember(task);
  return task;
}

void PluginRuntime::PublishEvent(TaskEventNote event) {
  absl::MutexLock lock(&events_mu_);
  for (const auto& q : event_queues_) q->Push(event);
}

std::shared_ptr<PluginRuntime::EventQueue> PluginRuntime::SubscribeEvents() {
  auto q = std::make_shared<EventQueue>();
  absl::MutexLock lock(&events_mu_);
  event_queues_.push_back(q);
  return q;
}

void PluginRuntime::UnsubscribeEvents(const std::shared_ptr<EventQueue>& queue) {
  absl::MutexLock lock(&events_mu_);
  std::erase(event_queues_, queue);
}

std::optional<TaskEventNote> PluginRuntime::EventQueue::Next(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(
                           +[](std::vector<TaskEventNote>* q) { return !q->empty(); }, &queue_),
                       timeout);
  if (queue_.empty()) return std::nullopt;
  TaskEventNote e = std::move(queue_.front());
  queue_.erase(queue_.begin());
  return e;
}

void PluginRuntime::EventQueue::Push(TaskEventNote event) {
  absl::MutexLock lock(&mu_);
  if (queue_.size() < 1000) queue_.push_back(std::move(event));
}

}  // namespace stockade::nomad
