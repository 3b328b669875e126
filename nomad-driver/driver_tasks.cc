// StartTask, RecoverTask, WaitTask, StopTask, DestroyTask, InspectTask and SignalTask.
#include "nomad-driver/driver_tasks.h"
#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "imagestore/image_store.h"
#include "node/node_runtime.h"
#include "nomad-driver/driver_service.h"
#include "nomad-driver/plugin_errors.h"
#include "nomad-driver/task_plan.h"
#include "runtime/runtime_core.h"
#include "runtime/stop_signal.h"

namespace stockade::nomad {
namespace proto = hashicorp::nomad::plugins::drivers::proto;

absl::StatusOr<RuntimeCore*> CoreOf(PluginRuntime& plugin) {
  absl::StatusOr<NodeRuntime*> runtime = plugin.Runtime();
  if (!runtime.ok()) return runtime.status();
  return &(*runtime)->core();
}

void SetTimestamp(int64_t unix_nano, google::protobuf::Timestamp* t) {
  if (unix_nano <= 0) {
    t->set_seconds(kZeroTimeSeconds);  // Go's zero time.Time: "not yet"
    t->set_nanos(0);
    return;
  }
  t->set_seconds(unix_nano / 1000000000);
  t->set_nanos(static_cast<int32_t>(unix_nano % 1000000000));
}

void FillExitResult(const ContainerView& c, proto::ExitResult* result) {
  result->set_exit_code(c.exit_code);
  // The shim reports a death by signal N as 128+N, the shell's convention.
  result->set_signal(c.exit_code > 128 && c.exit_code < 128 + 65 ? c.exit_code - 128 : 0);
  result->set_oom_killed(c.reason == "OOMKilled");
}

bool Running(const ContainerView& c) {
  return c.state == ContainerState::kRunning || c.state == ContainerState::kCreated ||
         c.state == ContainerState::kStopping;
}

namespace {

// Pulls the image unless it is present (or force_pull), telling TaskEvents subscribers.
absl::Status EnsureImage(PluginRuntime& plugin, NodeRuntime& runtime, const proto::TaskConfig& task,
                         const TaskPlan& plan) {
  if (!plan.force_pull && runtime.images().Get(plan.container.image).ok()) {
    return absl::OkStatus();
  }
  TaskEventNote note{task.id(),
                     task.alloc_id(),
                     task.name(),
                     absl::StrCat("Downloading image ", plan.container.image),
                     {{"image", plan.container.image}},
                     absl::GetCurrentTimeNanos()};
  plugin.PublishEvent(note);
  absl::StatusOr<ImageInfo> pulled = runtime.images().Pull(plan.container.image, plan.credentials);
  if (!pulled.ok()) {
    return absl::Status(
        pulled.status().code(),
        absl::StrCat("pull the image ", plan.container.image, ": ", pulled.status().message()));
  }
  note.message = absl::StrCat("Pulled image ", plan.container.image, " (", pulled->id, ")");
  note.at_unix_nano = absl::GetCurrentTimeNanos();
  plugin.PublishEvent(note);
  return absl::OkStatus();
}

void FillNetworkOverride(const TaskRecord& task, proto::NetworkOverride* out) {
  if (task.address.empty()) return;
  out->set_addr(task.address);
  // Not advertised by default: the jail's address is private to this node, and Nomad's "auto"
  // address mode would register services at it (and at `to`, 0 when unset). Services go to
  // the host's address and port, which the bridge publishes.
  out->set_auto_advertise(false);
  for (const auto& [label, port] : task.port_map) (*out->mutable_port_map())[label] = port;
}

// Makes the task's pod and container and starts it; on failure removes what was made.
absl::StatusOr<TaskRecord> StartTaskJail(PluginRuntime& plugin, const proto::TaskConfig& task) {
  absl::StatusOr<TaskDriverConfig> config = DecodeTaskDriverConfig(task.msgpack_driver_config());
  if (!config.ok()) return config.status();
  absl::StatusOr<TaskPlan> plan = PlanTask(task, *config, plugin.config());
  if (!plan.ok()) return plan.status();
  absl::StatusOr<NodeRuntime*> runtime = plugin.Runtime();
  if (!runtime.ok()) return runtime.status();
  RuntimeCore& core = (*runtime)->core();
  if (absl::Status s = EnsureImage(plugin, **runtime, task, *plan); !s.ok()) return s;

  absl::StatusOr<std::string> pod_id = core.RunPod(plan->pod);
  if (!pod_id.ok()) return pod_id.status();
  absl::Cleanup remove_pod = [&] {
    core.StopPod(*pod_id).IgnoreError();
    core.RemovePod(*pod_id).IgnoreError();
  };
  absl::StatusOr<std::string> container_id = core.CreateContainer(*pod_id, plan->container);
  if (!container_id.ok()) return container_id.status();
  if (absl::Status s = core.StartContainer(*container_id); !s.ok()) return s;
  absl::StatusOr<ContainerView> started = core.ContainerStatus(*container_id);
  if (!started.ok()) return started.status();
  TaskRecord record;
  record.task_id = task.id();
  record.pod_id = *pod_id;
  record.container_id = *container_id;
  record.started_at_unix_nano = started->started_at_unix_nano;
  if (plan->own_network) {
    absl::StatusOr<PodSandboxView> pod = core.PodStatus(*pod_id);
    if (pod.ok() && !pod->ips.empty()) record.address = pod->ips.front();
    record.port_map = plan->port_map;
  }
  std::move(remove_pod).Cancel();
  return record;
}

}  // namespace

grpc::Status DriverService::StartTask(Ctx*, const proto::StartTaskRequest* req,
                                      proto::StartTaskResponse* resp) {
  const proto::TaskConfig& task = req->task();
  if (plugin_.Known(task.id())) {
    return ToStartTaskStatus(
        absl::AlreadyExistsError(absl::StrCat("task ", task.id(), " is already started")));
  }
  // Nomad retries a StartTask whose plugin died mid-call with the same task: what the dead
  // attempt left (found by its label) goes before the new start.
  if (absl::StatusOr<TaskRecord> leftover = plugin_.Find(task.id()); leftover.ok()) {
    Log(LogLevel::kInfo, "removing what an interrupted start left",
        {{"task_id", task.id()}, {"pod_id", leftover->pod_id}});
    if (absl::StatusOr<RuntimeCore*> core = CoreOf(plugin_); core.ok()) {
      (*core)->StopPod(leftover->pod_id).IgnoreError();
      (*core)->RemovePod(leftover->pod_id).IgnoreError();
    }
    plugin_.Forget(task.id());
  }
  const absl::Time began = absl::Now();
  absl::StatusOr<TaskRecord> record = StartTaskJail(plugin_, task);
  if (!record.ok()) {
    Log(LogLevel::kWarn, "StartTask failed",
        {{"task_id", task.id()}, {"error", std::string(record.status().message())}});
    return ToStartTaskStatus(record.status());
  }
  plugin_.Remember(*record);
  Log(LogLevel::kInfo, "task started",
      {{"task_id", task.id()},
       {"container_id", record->container_id},
       {"ms", absl::StrCat(absl::ToDoubleMilliseconds(absl::Now() - began))}});
  proto::TaskHandle* handle = resp->mutable_handle();
  handle->set_version(kDriverStateVersion);
  *handle->mutable_config() = task;
  handle->set_state(proto::RUNNING);
  handle->set_driver_state(EncodeDriverState(*record));
  FillNetworkOverride(*record, resp->mutable_network_override());
  resp->set_result(proto::StartTaskResponse::SUCCESS);
  return grpc::Status::OK;
}

grpc::Status DriverService::RecoverTask(Ctx*, const proto::RecoverTaskRequest* req,
                                        proto::RecoverTaskResponse*) {
  const std::string task_id =
      !req->task_id().empty() ? req->task_id() : req->handle().config().id();
  if (task_id.empty()) return ToPluginStatus(absl::InvalidArgumentError("RecoverTask: no task id"));
  absl::StatusOr<TaskRecord> record = DecodeDriverState(req->handle().driver_state());
  if (!record.ok()) return ToPluginStatus(record.status());
  if (record->task_id.empty()) record->task_id = task_id;
  absl::StatusOr<RuntimeCore*> core = CoreOf(plugin_);
  if (!core.ok()) return ToPluginStatus(core.status());
  absl::StatusOr<ContainerView> c = (*core)->ContainerStatus(record->container_id);
  if (!c.ok()) {
    return ToPluginStatus(
        absl::NotFoundError(absl::StrCat("task ", task_id, ": its container ", record->container_id,
                                         " is gone: ", c.status().message())));
  }
  plugin_.Remember(*record);
  Log(LogLevel::kInfo, "task recovered",
      {{"task_id", task_id}, {"running", Running(*c) ? "true" : "false"}});
  return grpc::Status::OK;
}

grpc::Status DriverService::WaitTask(Ctx* ctx, const proto::WaitTaskRequest* req,
                                     proto::WaitTaskResponse* resp) {
  absl::StatusOr<TaskRecord> task = plugin_.Find(req->task_id());
  if (!task.ok()) return ToPluginStatus(task.status());
  absl::StatusOr<RuntimeCore*> core = CoreOf(plugin_);
  if (!core.ok()) return ToPluginStatus(core.status());
  // Subscribed before the first look, so an exit between the two is not missed.
  std::unique_ptr<ContainerEvents::Subscription> events = (*core)->events().Subscribe();
  while (true) {
    absl::StatusOr<ContainerView> c = (*core)->ContainerStatus(task->container_id);
    if (!c.ok()) {
      // Nomad dereferences result without a check: it is always set.
      resp->mutable_result()->set_exit_code(255);
      resp->set_err(std::string(c.status().message()));
      return grpc::Status::OK;
    }
    if (!Running(*c) && c->state != ContainerState::kUnknown) {
      FillExitResult(*c, resp->mutable_result());
      return grpc::Status::OK;
    }
    if (ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "WaitTask cancelled");
    events->Next(absl::Seconds(1));
  }
}

grpc::Status DriverService::StopTask(Ctx*, const proto::StopTaskRequest* req,
                                     proto::StopTaskResponse*) {
  absl::StatusOr<TaskRecord> task = plugin_.Find(req->task_id());
  if (absl::IsNotFound(task.status())) return grpc::Status::OK;  // already gone: done
  if (!task.ok()) return ToPluginStatus(task.status());
  int signal = 0;
  if (!req->signal().empty()) {
    absl::StatusOr<int> parsed = ParseStopSignal(req->signal());
    if (!parsed.ok()) return ToPluginStatus(parsed.status());
    signal = *parsed;
  }
  absl::StatusOr<RuntimeCore*> core = CoreOf(plugin_);
  if (!core.ok()) return ToPluginStatus(core.status());
  const absl::Duration timeout =
      absl::Seconds(req->timeout().seconds()) + absl::Nanoseconds(req->timeout().nanos());
  absl::Status s = (*core)->StopContainer(task->container_id, timeout, signal);
  if (absl::IsNotFound(s)) return grpc::Status::OK;
  return ToPluginStatus(s);
}

grpc::Status DriverService::DestroyTask(Ctx*, const proto::DestroyTaskRequest* req,
                                        proto::DestroyTaskResponse*) {
  absl::StatusOr<TaskRecord> task = plugin_.Find(req->task_id());
  if (absl::IsNotFound(task.status())) return grpc::Status::OK;
  if (!task.ok()) return ToPluginStatus(task.status());
  absl::StatusOr<RuntimeCore*> core = CoreOf(plugin_);
  if (!core.ok()) return ToPluginStatus(core.status());
  absl::StatusOr<ContainerView> c = (*core)->ContainerStatus(task->container_id);
  if (c.ok() && Running(*c) && !req->force()) {
    return ToPluginStatus(absl::FailedPreconditionError(absl::StrCat(
        "task ", req->task_id(), " is running: stop it first, or destroy with force")));
  }
  if (absl::Status s = (*core)->StopPod(task->pod_id); !s.ok() && !absl::IsNotFound(s)) {
    return ToPluginStatus(s);
  }
  if (absl::Status s = (*core)->RemovePod(task->pod_id); !s.ok() && !absl::IsNotFound(s)) {
    return ToPluginStatus(s);
  }
  plugin_.Forget(req->task_id());
  return grpc::Status::OK;
}

grpc::Status DriverService::InspectTask(Ctx*, const proto::InspectTaskRequest* req,
                                        proto::InspectTaskResponse* resp) {
  absl::StatusOr<TaskRecord> task = plugin_.Find(req->task_id());
  if (!task.ok()) return ToPluginStatus(task.status());
  absl::StatusOr<RuntimeCore*> core = CoreOf(plugin_);
  if (!core.ok()) return ToPluginStatus(core.status());
  absl::StatusOr<ContainerView> c = (*core)->ContainerStatus(task->container_id);
  if (!c.ok()) return ToPluginStatus(c.status());
  proto::TaskStatus* status = resp->mutable_task();
  status->set_id(task->task_id);
  status->set_name(c->labels.count(kTaskNameLabel) ? c->labels.at(kTaskNameLabel) : c->name);
  const bool running = Running(*c);
  status->set_state(running ? proto::RUNNING : proto::EXITED);
  SetTimestamp(c->started_at_unix_nano, status->mutable_started_at());
  SetTimestamp(running ? 0 : c->finished_at_unix_nano, status->mutable_completed_at());
  FillExitResult(*c, status->mutable_result());
  if (running) status->mutable_result()->Clear();
  auto& attrs = *resp->mutable_driver()->mutable_attributes();
  attrs["container_id"] = task->container_id;
  attrs["pod_id"] = task->pod_id;
  attrs["image"] = c->image_ref;
  FillNetworkOverride(*task, resp->mutable_network_override());
  return grpc::Status::OK;
}

grpc::Status DriverService::SignalTask(Ctx*, const proto::SignalTaskRequest* req,
                                       proto::SignalTaskResponse*) {
  absl::StatusOr<TaskRecord> task = plugin_.Find(req->task_id());
  if (!task.ok()) return ToPluginStatus(task.status());
  absl::StatusOr<int> signal = ParseStopSignal(req->signal());
  if (!signal.ok()) return ToPluginStatus(signal.status());
  absl::StatusOr<RuntimeCore*> core = CoreOf(plugin_);
  if (!core.ok()) return ToPluginStatus(core.status());
  return ToPluginStatus((*core)->SignalContainer(task->container_id, *signal));
}

}  // namespace stockade::nomad
