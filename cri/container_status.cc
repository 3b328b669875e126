// ContainerStatus, ListContainers, UpdateContainerResources, ReopenContainerLog and ExecSync.
#include "absl/strings/str_cat.h"
#include "cri/cri_translate.h"
#include "cri/runtime_service.h"
#include "nlohmann/json.hpp"
#include "runtime/runtime_core.h"

namespace stockade {
namespace {

runtime::v1::ContainerState ToCri(ContainerState state) {
  switch (state) {
    case ContainerState::kCreated:
      return runtime::v1::CONTAINER_CREATED;
    case ContainerState::kRunning:
    case ContainerState::kStopping:
      return runtime::v1::CONTAINER_RUNNING;
    case ContainerState::kExited:
      return runtime::v1::CONTAINER_EXITED;
    default:
      return runtime::v1::CONTAINER_UNKNOWN;
  }
}

void FillMetadata(const ContainerView& c, runtime::v1::ContainerMetadata& out) {
  out.set_name(c.name);
  out.set_attempt(c.attempt);
}

}  // namespace

void FillCpuUsage(int64_t timestamp, const ScopeUsage& usage, std::optional<uint64_t> nano_cores,
                  runtime::v1::CpuUsage& cpu) {
  cpu.set_timestamp(timestamp);
  cpu.mutable_usage_core_nano_seconds()->set_value(usage.cpu_usage_ns);
  if (nano_cores) cpu.mutable_usage_nano_cores()->set_value(*nano_cores);
}

void FillMemoryUsage(int64_t timestamp, const ScopeUsage& usage, runtime::v1::MemoryUsage& memory) {
  memory.set_timestamp(timestamp);
  memory.mutable_working_set_bytes()->set_value(usage.memory_working_set_bytes);
  memory.mutable_usage_bytes()->set_value(usage.memory_usage_bytes);
  memory.mutable_rss_bytes()->set_value(usage.memory_rss_bytes);
  memory.mutable_page_faults()->set_value(usage.page_faults);
  memory.mutable_major_page_faults()->set_value(usage.major_page_faults);
}

void FillContainerStats(const ContainerStatsView& s, runtime::v1::ContainerStats& out) {
  runtime::v1::ContainerAttributes& a = *out.mutable_attributes();
  a.set_id(s.container.id);
  FillMetadata(s.container, *a.mutable_metadata());
  a.mutable_labels()->insert(s.container.labels.begin(), s.container.labels.end());
  a.mutable_annotations()->insert(s.container.annotations.begin(), s.container.annotations.end());
  FillCpuUsage(s.timestamp_unix_nano, s.usage, s.usage_nano_cores, *out.mutable_cpu());
  runtime::v1::MemoryUsage& memory = *out.mutable_memory();
  FillMemoryUsage(s.timestamp_unix_nano, s.usage, memory);
  if (s.writable_layer) {
    runtime::v1::FilesystemUsage& fs = *out.mutable_writable_layer();
    fs.set_timestamp(s.timestamp_unix_nano);
    fs.mutable_used_bytes()->set_value(s.writable_layer->bytes);
    fs.mutable_inodes_used()->set_value(s.writable_layer->inodes);
  }
  if (s.container.limits.memory_limit_bytes && *s.container.limits.memory_limit_bytes > 0) {
    const uint64_t limit = static_cast<uint64_t>(*s.container.limits.memory_limit_bytes);
    memory.mutable_available_bytes()->set_value(
        limit > s.usage.memory_working_set_bytes ? limit - s.usage.memory_working_set_bytes : 0);
  }
}

absl::Status RuntimeServiceImpl::DoContainerStatus(
    const runtime::v1::ContainerStatusRequest& request,
    runtime::v1::ContainerStatusResponse& response) {
  if (request.container_id().empty()) return absl::InvalidArgumentError("container_id is required");
  absl::StatusOr<ContainerView> c = core_.ContainerStatus(request.container_id());
  if (!c.ok()) return c.status();
  runtime::v1::ContainerStatus& s = *response.mutable_status();
  s.set_id(c->id);
  FillMetadata(*c, *s.mutable_metadata());
  s.set_state(ToCri(c->state));
  s.set_created_at(c->created_at_unix_nano);
  s.set_started_at(c->started_at_unix_nano);
  s.set_finished_at(c->finished_at_unix_nano);
  s.set_exit_code(c->exit_code);
  s.mutable_image()->set_image(c->image);
  s.set_image_ref(c->image_ref);
  s.set_image_id(c->image_id);
  s.set_reason(c->reason);
  s.set_message(c->message);
  s.mutable_labels()->insert(c->labels.begin(), c->labels.end());
  s.mutable_annotations()->insert(c->annotations.begin(), c->annotations.end());
  for (const VolumeMount& m : c->mounts) {
    runtime::v1::Mount& out = *s.add_mounts();
    out.set_host_path(m.host_path);
    out.set_container_path(m.container_path);
    out.set_readonly(m.read_only);
    out.set_propagation(static_cast<runtime::v1::MountPropagation>(m.propagation));
  }
  s.set_log_path(c->log_path);
  FromLimits(c->limits, *s.mutable_resources()->mutable_linux());
  if (request.verbose()) {
    nlohmann::json info = {
        {"sandboxID", c->pod_id}, {"pid", c->pid}, {"state", ContainerStateName(c->state)}};
    (*response.mutable_info())["info"] = info.dump();
  }
  return absl::OkStatus();
}

absl::Status RuntimeServiceImpl::DoListContainers(const runtime::v1::ListContainersRequest& request,
                                                  runtime::v1::ListContainersResponse& response) {
  ContainerFilter filter;
  filter.id = request.filter().id();
  filter.pod_id = request.filter().pod_sandbox_id();
  if (request.filter().has_state()) {
    switch (request.filter().state().state()) {
      case runtime::v1::CONTAINER_CREATED:
        filter.state = ContainerState::kCreated;
        break;
      case runtime::v1::CONTAINER_RUNNING:
        filter.state = ContainerState::kRunning;
        break;
      case runtime::v1::CONTAINER_EXITED:
        filter.state = ContainerState::kExited;
        break;
      default:
        filter.state = ContainerState::kUnknown;
    }
  }
  filter.labels.insert(request.filter().label_selector().begin(),
                       request.filter().label_selector().end());
  for (const ContainerView& c : core_.ListContainers(filter)) {
    runtime::v1::Container& item = *response.add_containers();
    item.set_id(c.id);
    item.set_pod_sandbox_id(c.pod_id);
    FillMetadata(c, *item.mutable_metadata());
    item.mutable_image()->set_image(c.image);
    // The image ID, as containerd gives it here (ContainerStatus gives the repo digest):
    // kubelet's image GC matches it against ListImages' ids to keep images in use.
    item.set_image_ref(c.image_id);
    item.set_image_id(c.image_id);
    item.set_state(ToCri(c.state));
    item.set_created_at(c.created_at_unix_nano);
    item.mutable_labels()->insert(c.labels.begin(), c.labels.end());
    item.mutable_annotations()->insert(c.annotations.begin(), c.annotations.end());
  }
  return absl::OkStatus();
}

absl::Status RuntimeServiceImpl::DoUpdateContainerResources(
    const runtime::v1::UpdateContainerResourcesRequest& request,
    runtime::v1::UpdateContainerResourcesResponse&) {
  if (request.container_id().empty()) return absl::InvalidArgumentError("container_id is required");
  return core_.UpdateContainerResources(request.container_id(), ToLimits(request.linux()));
}

absl::Status RuntimeServiceImpl::DoReopenContainerLog(
    const runtime::v1::ReopenContainerLogRequest& request,
    runtime::v1::ReopenContainerLogResponse&) {
  if (request.container_id().empty()) return absl::InvalidArgumentError("container_id is required");
  return core_.ReopenContainerLog(request.container_id());
}

absl::Status RuntimeServiceImpl::DoExecSync(const runtime::v1::ExecSyncRequest& request,
                                            runtime::v1::ExecSyncResponse& response) {
  if (request.container_id().empty()) return absl::InvalidArgumentError("container_id is required");
  const std::vector<std::string> argv(request.cmd().begin(), request.cmd().end());
  absl::StatusOr<ExecOutput> out =
      core_.ExecSync(request.container_id(), argv, absl::Seconds(request.timeout()));
  if (!out.ok()) return out.status();
  if (out->timed_out) {
    // kubelet counts DeadlineExceeded as a probe timeout.
    return absl::DeadlineExceededError(
        absl::StrCat("command timed out after ", request.timeout(), "s and was killed"));
  }
  response.set_stdout(out->stdout_bytes);
  if (out->truncated) {
    absl::StrAppend(&out->stderr_bytes, "\n[stockade: stdout and stderr passed ", kMaxExecOutput,
                    " bytes together and were cut there]\n");
  }
  response.set_stderr(out->stderr_bytes);
  response.set_exit_code(out->exit_code);
  return absl::OkStatus();
}

absl::Status RuntimeServiceImpl::DoContainerStats(const runtime::v1::ContainerStatsRequest& request,
                                                  runtime::v1::ContainerStatsResponse& response) {
  if (request.container_id().empty()) return absl::InvalidArgumentError("container_id is required");
  absl::StatusOr<ContainerStatsView> stats = core_.ContainerStats(request.container_id());
  if (!stats.ok()) return stats.status();
  FillContainerStats(*stats, *response.mutable_stats());
  return absl::OkStatus();
}

absl::Status RuntimeServiceImpl::DoListContainerStats(
    const runtime::v1::ListContainerStatsRequest& request,
    runtime::v1::ListContainerStatsResponse& response) {
  ContainerFilter filter;
  filter.id = request.filter().id();
  filter.pod_id = request.filter().pod_sandbox_id();
  filter.labels.insert(request.filter().label_selector().begin(),
                       request.filter().label_selector().end());
  for (const ContainerStatsView& s : core_.ListContainerStats(filter)) {
    FillContainerStats(s, *response.add_stats());
  }
  return absl::OkStatus();
}

}  // namespace stockade
