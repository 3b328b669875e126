// The plugin's other services: Nomad's BasePlugin (PluginInfo, ConfigSchema, SetConfig) and
// go-plugin's GRPCController (Shutdown), GRPCStdio and GRPCBroker (held open, unused).
#pragma once

#include <functional>

#include "go-plugin/grpc_broker.grpc.pb.h"
#include "go-plugin/grpc_controller.grpc.pb.h"
#include "go-plugin/grpc_stdio.grpc.pb.h"
#include "nomad-driver/plugin_runtime.h"
#include "plugins/base/proto/base.grpc.pb.h"

namespace stockade::nomad {

class BasePluginService final : public hashicorp::nomad::plugins::base::proto::BasePlugin::Service {
 public:
  explicit BasePluginService(PluginRuntime& plugin) : plugin_(plugin) {}
  grpc::Status PluginInfo(grpc::ServerContext*,
                          const hashicorp::nomad::plugins::base::proto::PluginInfoRequest*,
                          hashicorp::nomad::plugins::base::proto::PluginInfoResponse*) override;
  grpc::Status ConfigSchema(grpc::ServerContext*,
                            const hashicorp::nomad::plugins::base::proto::ConfigSchemaRequest*,
                            hashicorp::nomad::plugins::base::proto::ConfigSchemaResponse*) override;
  grpc::Status SetConfig(grpc::ServerContext*,
                         const hashicorp::nomad::plugins::base::proto::SetConfigRequest*,
                         hashicorp::nomad::plugins::base::proto::SetConfigResponse*) override;

 private:
  PluginRuntime& plugin_;
};

class ControllerService final : public plugin::GRPCController::Service {
 public:
  // `shutdown` is called once the reply is on its way.
  explicit ControllerService(std::function<void()> shutdown) : shutdown_(std::move(shutdown)) {}
  grpc::Status Shutdown(grpc::ServerContext*, const plugin::Empty*, plugin::Empty*) override;

 private:
  std::function<void()> shutdown_;
};

// Nomad's client opens both streams; nothing is sent on them (logs go to stderr).
class StdioService final : public plugin::GRPCStdio::Service {
 public:
  grpc::Status StreamStdio(grpc::ServerContext*, const google::protobuf::Empty*,
                           grpc::ServerWriter<plugin::StdioData>*) override;
};

class BrokerService final : public plugin::GRPCBroker::Service {
 public:
  grpc::Status StartStream(grpc::ServerContext*,
                           grpc::ServerReaderWriter<plugin::ConnInfo, plugin::ConnInfo>*) override;
};

}  // namespace stockade::nomad
