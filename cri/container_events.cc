// GetContainerEvents: the core's lifecycle events as kubelet's evented PLEG reads them, each
// with the pod's status and its containers' statuses as they are when it is sent. Ends when
// the client goes or the daemon stops.
#include "cri/runtime_service.h"
#include "runtime/runtime_core.h"

namespace stockade {
namespace {

constexpr absl::Duration kPoll = absl::Milliseconds(250);  // how often cancellation is seen

}  // namespace

absl::Status RuntimeServiceImpl::DoGetContainerEvents(
    grpc::ServerContext& context, grpc::ServerWriter<runtime::v1::ContainerEventResponse>& writer) {
  std::unique_ptr<ContainerEvents::Subscription> events = core_.events().Subscribe();
  while (!context.IsCancelled() && !rpc_.draining()) {
    std::optional<ContainerEvent> e = events->Next(kPoll);
    if (!e) continue;
    runtime::v1::ContainerEventResponse out;
    out.set_container_id(e->container_id);
    out.set_container_event_type(static_cast<runtime::v1::ContainerEventType>(e->type));
    out.set_created_at(e->at_unix_nano);
    runtime::v1::PodSandboxStatusRequest pod_request;
    pod_request.set_pod_sandbox_id(e->pod_id);
    runtime::v1::PodSandboxStatusResponse pod;
    if (DoPodSandboxStatus(pod_request, pod).ok()) {
      *out.mutable_pod_sandbox_status() = pod.status();
    }
    ContainerFilter filter;
    filter.pod_id = e->pod_id;
    for (const ContainerView& c : core_.ListContainers(filter)) {
      runtime::v1::ContainerStatusRequest request;
      request.set_container_id(c.id);
      runtime::v1::ContainerStatusResponse status;
      if (DoContainerStatus(request, status).ok()) {
        *out.add_containers_statuses() = status.status();
      }
    }
    if (!writer.Write(out)) break;  // the client is gone
  }
  return absl::OkStatus();
}

}  // namespace stockade
