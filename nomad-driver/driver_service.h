// hashicorp.nomad.plugins.drivers.proto.Driver on the runtime core: each RPC translates
// Nomad's messages into core calls (see task_plan.h for how a task becomes a pod and a
// container) and back. Split by RPC group: driver_tasks.cc (start, recover, wait, stop,
// destroy, inspect, signal), driver_exec.cc (exec), driver_exec_stream.cc (streaming exec),
// driver_info.cc (schema, capabilities,
// fingerprint, stats, events, networks).
#pragma once

#include <string>

#include "nomad-driver/plugin_runtime.h"
#include "plugins/drivers/proto/driver.grpc.pb.h"

namespace stockade::nomad {

class DriverService final : public hashicorp::nomad::plugins::drivers::proto::Driver::
                                WithCallbackMethod_ExecTaskStreaming<
                                    hashicorp::nomad::plugins::drivers::proto::Driver::Service> {
 public:
  using Ctx = grpc::ServerContext;
  explicit DriverService(PluginRuntime& plugin) : plugin_(plugin) {}

  // Nomad 2.0.4 and later call Init after SetConfig (at every launch and reattach; an error
  // kills the plugin) and Shutdown before stopping it; older clients call neither.
  grpc::Status Init(Ctx*, const hashicorp::nomad::plugins::drivers::proto::InitRequest*,
                    hashicorp::nomad::plugins::drivers::proto::InitResponse*) override;
  grpc::Status Shutdown(Ctx*, const hashicorp::nomad::plugins::drivers::proto::ShutdownRequest*,
                        hashicorp::nomad::plugins::drivers::proto::ShutdownResponse*) override;
  grpc::Status TaskConfigSchema(
      Ctx*, const hashicorp::nomad::plugins::drivers::proto::TaskConfigSchemaRequest*,
      hashicorp::nomad::plugins::drivers::proto::TaskConfigSchemaResponse*) override;
  grpc::Status Capabilities(
      Ctx*, const hashicorp::nomad::plugins::drivers::proto::CapabilitiesRequest*,
      hashicorp::nomad::plugins::drivers::proto::CapabilitiesResponse*) override;
  grpc::Status Fingerprint(
      Ctx*, const hashicorp::nomad::plugins::drivers::proto::FingerprintRequest*,
      grpc::ServerWriter<hashicorp::nomad::plugins::drivers::proto::FingerprintResponse>*) override;
  grpc::Status RecoverTask(
      Ctx*, const hashicorp::nomad::plugins::drivers::proto::RecoverTaskRequest*,
      hashicorp::nomad::plugins::drivers::proto::RecoverTaskResponse*) override;
  grpc::Status StartTask(Ctx*, const hashicorp::nomad::plugins::drivers::proto::StartTaskRequest*,
                         hashicorp::nomad::plugins::drivers::proto::StartTaskResponse*) override;
  grpc::Status WaitTask(Ctx*, const hashicorp::nomad::plugins::drivers::proto::WaitTaskRequest*,
                        hashicorp::nomad::plugins::drivers::proto::WaitTaskResponse*) override;
  grpc::Status StopTask(Ctx*, const hashicorp::nomad::plugins::drivers::proto::StopTaskRequest*,
                        hashicorp::nomad::plugins::drivers::proto::StopTaskResponse*) override;
  grpc::Status DestroyTask(
      Ctx*, const hashicorp::nomad::plugins::drivers::proto::DestroyTaskRequest*,
      hashicorp::nomad::plugins::drivers::proto::DestroyTaskResponse*) override;
  grpc::Status InspectTask(
      Ctx*, const hashicorp::nomad::plugins::drivers::proto::InspectTaskRequest*,
      hashicorp::nomad::plugins::drivers::proto::InspectTaskResponse*) override;
  grpc::Status TaskStats(
      Ctx*, const hashicorp::nomad::plugins::drivers::proto::TaskStatsRequest*,
      grpc::ServerWriter<hashicorp::nomad::plugins::drivers::proto::TaskStatsResponse>*) override;
  grpc::Status TaskEvents(
      Ctx*, const hashicorp::nomad::plugins::drivers::proto::TaskEventsRequest*,
      grpc::ServerWriter<hashicorp::nomad::plugins::drivers::proto::DriverTaskEvent>*) override;
  grpc::Status SignalTask(Ctx*, const hashicorp::nomad::plugins::drivers::proto::SignalTaskRequest*,
                          hashicorp::nomad::plugins::drivers::proto::SignalTaskResponse*) override;
  grpc::Status ExecTask(Ctx*, const hashicorp::nomad::plugins::drivers::proto::ExecTaskRequest*,
                        hashicorp::nomad::plugins::drivers::proto::ExecTaskResponse*) override;
  // A callback method: the call ends (OK) once the command's result is sent, whether or not
  // the client ever half-closes its side, as Nomad's client never does.
  grpc::ServerBidiReactor<hashicorp::nomad::plugins::drivers::proto::ExecTaskStreamingRequest,
                          hashicorp::nomad::plugins::drivers::proto::ExecTaskStreamingResponse>*
  ExecTaskStreaming(grpc::CallbackServerContext* ctx) override;
  grpc::Status CreateNetwork(
      Ctx*, const hashicorp::nomad::plugins::drivers::proto::CreateNetworkRequest*,
      hashicorp::nomad::plugins::drivers::proto::CreateNetworkResponse*) override;
  grpc::Status DestroyNetwork(
      Ctx*, const hashicorp::nomad::plugins::drivers::proto::DestroyNetworkRequest*,
      hashicorp::nomad::plugins::drivers::proto::DestroyNetworkResponse*) override;

 private:
  PluginRuntime& plugin_;
};

}  // namespace stockade::nomad
