// ExecTask: a command's collected output, run in the task's container through its pod's
// shim, as CRI ExecSync.
#include "nomad-driver/driver_service.h"
#include "nomad-driver/driver_tasks.h"
#include "nomad-driver/plugin_errors.h"

namespace stockade::nomad {
namespace proto = hashicorp::nomad::plugins::drivers::proto;

grpc::Status DriverService::ExecTask(Ctx*, const proto::ExecTaskRequest* req,
                                     proto::ExecTaskResponse* resp) {
  absl::StatusOr<TaskRecord> task = plugin_.Find(req->task_id());
  if (!task.ok()) return ToPluginStatus(task.status());
  absl::StatusOr<RuntimeCore*> core = CoreOf(plugin_);
  if (!core.ok()) return ToPluginStatus(core.status());
  const std::vector<std::string> argv(req->command().begin(), req->command().end());
  absl::Duration timeout =
      absl::Seconds(req->timeout().seconds()) + absl::Nanoseconds(req->timeout().nanos());
  if (timeout <= absl::ZeroDuration()) timeout = absl::Hours(24);  // "run until it ends"
  absl::StatusOr<ExecOutput> out = (*core)->ExecSync(task->container_id, argv, timeout);
  if (!out.ok()) return ToPluginStatus(out.status());
  resp->set_stdout(out->stdout_bytes);
  resp->set_stderr(out->stderr_bytes);
  resp->mutable_result()->set_exit_code(out->timed_out ? 124 : out->exit_code);
  return grpc::Status::OK;
}

}  // namespace stockade::nomad
