#include "nomad-driver/plugin_services.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "nomad-driver/hclspec_build.h"
#include "nomad-driver/plugin_errors.h"

namespace stockade::nomad {
namespace base = hashicorp::nomad::plugins::base::proto;

grpc::Status BasePluginService::PluginInfo(grpc::ServerContext*, const base::PluginInfoRequest*,
                                           base::PluginInfoResponse* resp) {
  resp->set_type(base::DRIVER);
  resp->add_plugin_api_versions("0.1.0");
  // Nomad parses this as a semantic version.
  resp->set_plugin_version(plugin_.version());
  resp->set_name("stockade");
  return grpc::Status::OK;
}

grpc::Status BasePluginService::ConfigSchema(grpc::ServerContext*, const base::ConfigSchemaRequest*,
                                             base::ConfigSchemaResponse* resp) {
  *resp->mutable_spec() = BuildHclSpec(PluginConfigAttributes());
  return grpc::Status::OK;
}

grpc::Status BasePluginService::SetConfig(grpc::ServerContext*, const base::SetConfigRequest* req,
                                          base::SetConfigResponse*) {
  if (!req->plugin_api_version().empty() && req->plugin_api_version() != "0.1.0") {
    return ToPluginStatus(absl::InvalidArgumentError(absl::StrCat(
        "plugin API version ", req->plugin_api_version(), " is not 0.1.0, the one this speaks")));
  }
  absl::StatusOr<PluginConfig> config = DecodePluginConfig(req->msgpack_config());
  if (!config.ok()) return ToPluginStatus(config.status());
  if (absl::Status s = plugin_.Configure(*config); !s.ok()) return ToPluginStatus(s);
  // Nomad's compute per core, as its client and docker driver count it: the topology's usable
  // cores at their base speed (else max, else guessed), or the operator's cpu_total_compute.
  const base::ClientTopology& topology = req->nomad_config().driver().topology();
  double total = 0;
  int cores = 0;
  for (const base::ClientTopologyCore& core : topology.cores()) {
    if (core.disable()) continue;
    ++cores;
    total += static_cast<double>(core.base_speed()  ? core.base_speed()
                                 : core.max_speed() ? core.max_speed()
                                                    : core.guess_speed());
  }
  if (topology.override_total_compute() > 0) {
    total = static_cast<double>(topology.override_total_compute());
  }
  if (cores > 0 && total > 0) plugin_.SetCoreMhz(total / cores);
  Log(LogLevel::kDebug, "config set",
      {{"state_dir", config->state_dir}, {"network", config->network}});
  return grpc::Status::OK;
}

grpc::Status ControllerService::Shutdown(grpc::ServerContext*, const plugin::Empty*,
                                         plugin::Empty*) {
  // The reply goes first; the process ends right after (tasks run on in their jails).
  std::thread([f = shutdown_] {
    absl::SleepFor(absl::Milliseconds(50));
    f();
  }).detach();
  return grpc::Status::OK;
}

grpc::Status StdioService::StreamStdio(grpc::ServerContext* ctx, const google::protobuf::Empty*,
                                       grpc::ServerWriter<plugin::StdioData>*) {
  while (!ctx->IsCancelled()) absl::SleepFor(absl::Milliseconds(500));
  return grpc::Status::OK;
}

grpc::Status BrokerService::StartStream(
    grpc::ServerContext* ctx,
    grpc::ServerReaderWriter<plugin::ConnInfo, plugin::ConnInfo>* stream) {
  plugin::ConnInfo info;
  while (stream->Read(&info)) {
  }
  return grpc::Status::OK;
}

}  // namespace stockade::nomad
