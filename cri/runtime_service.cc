// Dispatch of every RuntimeService method through the instrumentation layer.
#include "cri/runtime_service.h"

namespace stockade {

grpc::Status RuntimeServiceImpl::Version(grpc::ServerContext* context,
                                         const runtime::v1::VersionRequest* request,
                                         runtime::v1::VersionResponse* response) {
  return rpc_.Serve("Version", [&] { return DoVersion(*request, *response); });
}

grpc::Status RuntimeServiceImpl::RunPodSandbox(grpc::ServerContext* context,
                                               const runtime::v1::RunPodSandboxRequest* request,
                                               runtime::v1::RunPodSandboxResponse* response) {
  return rpc_.Serve("RunPodSandbox", [&] { return DoRunPodSandbox(*request, *response); });
}

grpc::Status RuntimeServiceImpl::StopPodSandbox(grpc::ServerContext* context,
                                                const runtime::v1::StopPodSandboxRequest* request,
                                                runtime::v1::StopPodSandboxResponse* response) {
  return rpc_.Serve("StopPodSandbox", [&] { return DoStopPodSandbox(*request, *response); });
}

grpc::Status RuntimeServiceImpl::RemovePodSandbox(
    grpc::ServerContext* context, const runtime::v1::RemovePodSandboxRequest* request,
    runtime::v1::RemovePodSandboxResponse* response) {
  return rpc_.Serve("RemovePodSandbox", [&] { return DoRemovePodSandbox(*request, *response); });
}

grpc::Status RuntimeServiceImpl::PodSandboxStatus(
    grpc::ServerContext* context, const runtime::v1::PodSandboxStatusRequest* request,
    runtime::v1::PodSandboxStatusResponse* response) {
  return rpc_.Serve("PodSandboxStatus", [&] { return DoPodSandboxStatus(*request, *response); });
}

grpc::Status RuntimeServiceImpl::ListPodSandbox(grpc::ServerContext* context,
                                                const runtime::v1::ListPodSandboxRequest* request,
                                                runtime::v1::ListPodSandboxResponse* response) {
  return rpc_.Serve("ListPodSandbox", [&] { return DoListPodSandbox(*request, *response); });
}

grpc::Status RuntimeServiceImpl::StreamPodSandboxes(
    grpc::ServerContext* context, const runtime::v1::StreamPodSandboxesRequest* request,
    grpc::ServerWriter<runtime::v1::StreamPodSandboxesResponse>* writer) {
  return rpc_.Serve("StreamPodSandboxes",
                    [] { return RpcInstrumentation::NotImplementedYet("StreamPodSandboxes"); });
}

grpc::Status RuntimeServiceImpl::CreateContainer(grpc::ServerContext* context,
                                                 const runtime::v1::CreateContainerRequest* request,
                                                 runtime::v1::CreateContainerResponse* response) {
  return rpc_.Serve("CreateContainer", [&] { return DoCreateContainer(*request, *response); });
}

grpc::Status RuntimeServiceImpl::StartContainer(grpc::ServerContext* context,
                                                const runtime::v1::StartContainerRequest* request,
                                                runtime::v1::StartContainerResponse* response) {
  return rpc_.Serve("StartContainer", [&] { return DoStartContainer(*request, *response); });
}

grpc::Status RuntimeServiceImpl::StopContainer(grpc::ServerContext* context,
                                               const runtime::v1::StopContainerRequest* request,
                                               runtime::v1::StopContainerResponse* response) {
  return rpc_.Serve("StopContainer", [&] { return DoStopContainer(*request, *response); });
}

grpc::Status RuntimeServiceImpl::RemoveContainer(grpc::ServerContext* context,
                                                 const runtime::v1::RemoveContainerRequest* request,
                                                 runtime::v1::RemoveContainerResponse* response) {
  return rpc_.Serve("RemoveContainer", [&] { return DoRemoveContainer(*request, *response); });
}

grpc::Status RuntimeServiceImpl::ListContainers(grpc::ServerContext* context,
                                                const runtime::v1::ListContainersRequest* request,
                                                runtime::v1::ListContainersResponse* response) {
  return rpc_.Serve("ListContainers", [&] { return DoListContainers(*request, *response); });
}

grpc::Status RuntimeServiceImpl::StreamContainers(
    grpc::ServerContext* context, const runtime::v1::StreamContainersRequest* request,
    grpc::ServerWriter<runtime::v1::StreamContainersResponse>* writer) {
  return rpc_.Serve("StreamContainers",
                    [] { return RpcInstrumentation::NotImplementedYet("StreamContainers"); });
}

grpc::Status RuntimeServiceImpl::ContainerStatus(grpc::ServerContext* context,
                                                 const runtime::v1::ContainerStatusRequest* request,
                                                 runtime::v1::ContainerStatusResponse* response) {
  return rpc_.Serve("ContainerStatus", [&] { return DoContainerStatus(*request, *response); });
}

grpc::Status RuntimeServiceImpl::UpdateContainerResources(
    grpc::ServerContext* context, const runtime::v1::UpdateContainerResourcesRequest* request,
    runtime::v1::UpdateContainerResourcesResponse* response) {
  return rpc_.Serve("UpdateContainerResources",
                    [&] { return DoUpdateContainerResources(*request, *response); });
}

grpc::Status RuntimeServiceImpl::ReopenContainerLog(
    grpc::ServerContext* context, const runtime::v1::ReopenContainerLogRequest* request,
    runtime::v1::ReopenContainerLogResponse* response) {
  return rpc_.Serve("ReopenContainerLog",
                    [&] { return DoReopenContainerLog(*request, *response); });
}

grpc::Status RuntimeServiceImpl::ExecSync(grpc::ServerContext* context,
                                          const runtime::v1::ExecSyncRequest* request,
                                          runtime::v1::ExecSyncResponse* response) {
  return rpc_.Serve("ExecSync", [&] { return DoExecSync(*request, *response); });
}

grpc::Status RuntimeServiceImpl::Exec(grpc::ServerContext* context,
                                      const runtime::v1::ExecRequest* request,
                                      runtime::v1::ExecResponse* response) {
  return rpc_.Serve("Exec", [&] { return DoExec(*request, *response); });
}

grpc::Status RuntimeServiceImpl::Attach(grpc::ServerContext* context,
                                        const runtime::v1::AttachRequest* request,
                                        runtime::v1::AttachResponse* response) {
  return rpc_.Serve("Attach", [&] { return DoAttach(*request, *response); });
}

grpc::Status RuntimeServiceImpl::PortForward(grpc::ServerContext* context,
                                             const runtime::v1::PortForwardRequest* request,
                                             runtime::v1::PortForwardResponse* response) {
  return rpc_.Serve("PortForward", [&] { return DoPortForward(*request, *response); });
}

grpc::Status RuntimeServiceImpl::ContainerStats(grpc::ServerContext* context,
                                                const runtime::v1::ContainerStatsRequest* request,
                                                runtime::v1::ContainerStatsResponse* response) {
  return rpc_.Serve("ContainerStats", [&] { return DoContainerStats(*request, *response); });
}

grpc::Status RuntimeServiceImpl::ListContainerStats(
    grpc::ServerContext* context, const runtime::v1::ListContainerStatsRequest* request,
    runtime::v1::ListContainerStatsResponse* response) {
  return rpc_.Serve("ListContainerStats",
                    [&] { return DoListContainerStats(*request, *response); });
}

grpc::Status RuntimeServiceImpl::StreamContainerStats(
    grpc::ServerContext* context, const runtime::v1::StreamContainerStatsRequest* request,
    grpc::ServerWriter<runtime::v1::StreamContainerStatsResponse>* writer) {
  return rpc_.Serve("StreamContainerStats",
                    [] { return RpcInstrumentation::NotImplementedYet("StreamContainerStats"); });
}

grpc::Status RuntimeServiceImpl::PodSandboxStats(grpc::ServerContext* context,
                                                 const runtime::v1::PodSandboxStatsRequest* request,
                                                 runtime::v1::PodSandboxStatsResponse* response) {
  return rpc_.Serve("PodSandboxStats", [&] { return DoPodSandboxStats(*request, *response); });
}

grpc::Status RuntimeServiceImpl::ListPodSandboxStats(
    grpc::ServerContext* context, const runtime::v1::ListPodSandboxStatsRequest* request,
    runtime::v1::ListPodSandboxStatsResponse* response) {
  return rpc_.Serve("ListPodSandboxStats",
                    [&] { return DoListPodSandboxStats(*request, *response); });
}

grpc::Status RuntimeServiceImpl::StreamPodSandboxStats(
    grpc::ServerContext* context, const runtime::v1::StreamPodSandboxStatsRequest* request,
    grpc::ServerWriter<runtime::v1::StreamPodSandboxStatsResponse>* writer) {
  return rpc_.Serve("StreamPodSandboxStats",
                    [] { return RpcInstrumentation::NotImplementedYet("StreamPodSandboxStats"); });
}

grpc::Status RuntimeServiceImpl::UpdateRuntimeConfig(
    grpc::ServerContext* context, const runtime::v1::UpdateRuntimeConfigRequest* request,
    runtime::v1::UpdateRuntimeConfigResponse* response) {
  return rpc_.Serve("UpdateRuntimeConfig",
                    [&] { return DoUpdateRuntimeConfig(*request, *response); });
}

grpc::Status RuntimeServiceImpl::Status(grpc::ServerContext* context,
                                        const runtime::v1::StatusRequest* request,
                                        runtime::v1::StatusResponse* response) {
  return rpc_.Serve("Status", [&] { return DoStatus(*request, *response); });
}

grpc::Status RuntimeServiceImpl::CheckpointContainer(
    grpc::ServerContext* context, const runtime::v1::CheckpointContainerRequest* request,
    runtime::v1::CheckpointContainerResponse* response) {
  return rpc_.Serve("CheckpointContainer",
                    [] { return RpcInstrumentation::NotImplementedYet("CheckpointContainer"); });
}

grpc::Status RuntimeServiceImpl::CheckpointPod(grpc::ServerContext* context,
                                               const runtime::v1::CheckpointPodRequest* request,
                                               runtime::v1::CheckpointPodResponse* response) {
  return rpc_.Serve("CheckpointPod",
                    [] { return RpcInstrumentation::NotImplementedYet("CheckpointPod"); });
}

grpc::Status RuntimeServiceImpl::RestorePod(grpc::ServerContext* context,
                                            const runtime::v1::RestorePodRequest* request,
                                            runtime::v1::RestorePodResponse* response) {
  return rpc_.Serve("RestorePod",
                    [] { return RpcInstrumentation::NotImplementedYet("RestorePod"); });
}

grpc::Status RuntimeServiceImpl::GetContainerEvents(
    grpc::ServerContext* context, const runtime::v1::GetEventsRequest* request,
    grpc::ServerWriter<runtime::v1::ContainerEventResponse>* writer) {
  return rpc_.Serve("GetContainerEvents", [&] { return DoGetContainerEvents(*context, *writer); });
}

grpc::Status RuntimeServiceImpl::ListMetricDescriptors(
    grpc::ServerContext* context, const runtime::v1::ListMetricDescriptorsRequest* request,
    runtime::v1::ListMetricDescriptorsResponse* response) {
  return rpc_.Serve("ListMetricDescriptors",
                    [&] { return DoListMetricDescriptors(*request, *response); });
}

grpc::Status RuntimeServiceImpl::ListPodSandboxMetrics(
    grpc::ServerContext* context, const runtime::v1::ListPodSandboxMetricsRequest* request,
    runtime::v1::ListPodSandboxMetricsResponse* response) {
  return rpc_.Serve("ListPodSandboxMetrics",
                    [&] { return DoListPodSandboxMetrics(*request, *response); });
}

grpc::Status RuntimeServiceImpl::StreamPodSandboxMetrics(
    grpc::ServerContext* context, const runtime::v1::StreamPodSandboxMetricsRequest* request,
    grpc::ServerWriter<runtime::v1::StreamPodSandboxMetricsResponse>* writer) {
  return rpc_.Serve("StreamPodSandboxMetrics", [] {
    return RpcInstrumentation::NotImplementedYet("StreamPodSandboxMetrics");
  });
}

grpc::Status RuntimeServiceImpl::RuntimeConfig(grpc::ServerContext* context,
                                               const runtime::v1::RuntimeConfigRequest* request,
                                               runtime::v1::RuntimeConfigResponse* response) {
  return rpc_.Serve("RuntimeConfig", [&] { return DoRuntimeConfig(*request, *response); });
}

grpc::Status RuntimeServiceImpl::UpdatePodSandboxResources(
    grpc::ServerContext* context, const runtime::v1::UpdatePodSandboxResourcesRequest* request,
    runtime::v1::UpdatePodSandboxResourcesResponse* response) {
  return rpc_.Serve("UpdatePodSandboxResources",
                    [&] { return DoUpdatePodSandboxResources(*request, *response); });
}
}  // namespace stockade
