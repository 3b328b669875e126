// Our proto/runtime/v1/api.proto must serve exactly the CRI runtime.v1 methods, under the
// package and service names kubelet dials (/runtime.v1.RuntimeService/Version, ...).
#include "gtest/gtest.h"
#include "runtime/v1/api.grpc.pb.h"

namespace stockade {
namespace {

const google::protobuf::ServiceDescriptor* Service(const std::string& full_name) {
  const auto* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(full_name);
  EXPECT_NE(service, nullptr) << full_name;
  return service;
}

std::vector<std::string> MethodNames(const google::protobuf::ServiceDescriptor* service) {
  std::vector<std::string> names;
  for (int i = 0; i < service->method_count(); ++i) names.push_back(service->method(i)->name());
  return names;
}

TEST(CriApi, RuntimeServiceHasEveryMethodInOrder) {
  const auto* service = Service("runtime.v1.RuntimeService");
  EXPECT_EQ(service->full_name(), "runtime.v1.RuntimeService");
  EXPECT_EQ(MethodNames(service), (std::vector<std::string>{"Version",
                                                            "RunPodSandbox",
                                                            "StopPodSandbox",
                                                            "RemovePodSandbox",
                                                            "PodSandboxStatus",
                                                            "ListPodSandbox",
                                                            "StreamPodSandboxes",
                                                            "CreateContainer",
                                                            "StartContainer",
                                                            "StopContainer",
                                                            "RemoveContainer",
                                                            "ListContainers",
                                                            "StreamContainers",
                                                            "ContainerStatus",
                                                            "UpdateContainerResources",
                                                            "ReopenContainerLog",
                                                            "ExecSync",
                                                            "Exec",
                                                            "Attach",
                                                            "PortForward",
                                                            "ContainerStats",
                                                            "ListContainerStats",
                                                            "StreamContainerStats",
                                                            "PodSandboxStats",
                                                            "ListPodSandboxStats",
                                                            "StreamPodSandboxStats",
                                                            "UpdateRuntimeConfig",
                                                            "Status",
                                                            "CheckpointContainer",
                                                            "CheckpointPod",
                                                            "RestorePod",
                                                            "GetContainerEvents",
                                                            "ListMetricDescriptors",
                                                            "ListPodSandboxMetrics",
                                                            "StreamPodSandboxMetrics",
                                                            "RuntimeConfig",
                                                            "UpdatePodSandboxResources"}));
}

TEST(CriApi, ImageServiceHasEveryMethodInOrder) {
  const auto* service = Service("runtime.v1.ImageService");
  EXPECT_EQ(service->full_name(), "runtime.v1.ImageService");
  EXPECT_EQ(MethodNames(service),
            (std::vector<std::string>{"ListImages", "StreamImages", "ImageStatus", "PullImage",
                                      "RemoveImage", "ImageFsInfo"}));
}

TEST(CriApi, ServerStreamingMethodsAreTheStreamOnes) {
  std::vector<std::string> streaming;
  for (const google::protobuf::ServiceDescriptor* service :
       {Service("runtime.v1.RuntimeService"), Service("runtime.v1.ImageService")}) {
    for (int i = 0; i < service->method_count(); ++i) {
      const auto* m = service->method(i);
      EXPECT_FALSE(m->client_streaming()) << m->name();
      if (m->server_streaming()) streaming.push_back(m->name());
    }
  }
  EXPECT_EQ(streaming, (std::vector<std::string>{"StreamPodSandboxes", "StreamContainers",
                                                 "StreamContainerStats", "StreamPodSandboxStats",
                                                 "GetContainerEvents", "StreamPodSandboxMetrics",
                                                 "StreamImages"}));
}

TEST(CriApi, SpotCheckFieldNumbersKubeletDependsOn) {
  const auto* version = runtime::v1::VersionResponse::descriptor();
  EXPECT_EQ(version->FindFieldByName("runtime_api_version")->number(), 4);
  const auto* status = runtime::v1::StatusResponse::descriptor();
  EXPECT_EQ(status->FindFieldByName("info")->number(), 2);
  EXPECT_EQ(status->FindFieldByName("runtime_handlers")->number(), 3);
  const auto* auth = runtime::v1::AuthConfig::descriptor();
  EXPECT_EQ(auth->FindFieldByName("registry_token")->number(), 6);
  EXPECT_EQ(runtime::v1::CgroupDriver_descriptor()->FindValueByName("CGROUPFS")->number(), 1);
  EXPECT_EQ(
      runtime::v1::PodSandboxState_descriptor()->FindValueByName("SANDBOX_NOTREADY")->number(), 1);
}

}  // namespace
}  // namespace stockade
