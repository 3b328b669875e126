// TaskConfigSchema, Capabilities, Fingerprint, TaskStats, TaskEvents and the network RPCs
// (which Nomad calls only for drivers that must create networks; this one joins Nomad's).
#include <unistd.h>

#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "nomad-driver/driver_service.h"
#include "nomad-driver/driver_tasks.h"
#include "nomad-driver/hclspec_build.h"
#include "nomad-driver/plugin_errors.h"

namespace stockade::nomad {
namespace proto = hashicorp::nomad::plugins::drivers::proto;

namespace {

constexpr absl::Duration kFingerprintPeriod = absl::Seconds(30);

// When Nomad sent no topology: one CPU's current clock from /proc/cpuinfo (Linux), or 1000.
double CpuMhz() {
  static const double mhz = [] {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("cpu MHz", 0) != 0) continue;
      double v = 0;
      if (absl::SimpleAtod(line.substr(line.find(':') + 1), &v) && v > 0) return v;
    }
    return 1000.0;
  }();
  return mhz;
}

proto::FingerprintResponse Fingerprint(PluginRuntime& plugin) {
  proto::FingerprintResponse f;
  if (::geteuid() != 0) {
    f.set_health(proto::FingerprintResponse::UNDETECTED);
    f.set_health_description("nomad-driver-stockade must run as root to make jails");
    return f;
  }
  absl::StatusOr<RuntimeCore*> core = CoreOf(plugin);
  if (!core.ok()) {
    f.set_health(proto::FingerprintResponse::UNHEALTHY);
    f.set_health_description(std::string(core.status().message()));
    return f;
  }
  f.set_health(proto::FingerprintResponse::HEALTHY);
  f.set_health_description("Healthy");
  auto& attrs = *f.mutable_attributes();
  attrs["driver.stockade"].set_bool_val(true);
  attrs["driver.stockade.version"].set_string_val(plugin.version());
#if defined(__FreeBSD__)
  attrs["driver.stockade.os"].set_string_val("freebsd");
#else
  attrs["driver.stockade.os"].set_string_val("linux");
#endif
  const PluginConfig config = plugin.config();
  attrs["driver.stockade.network"].set_string_val(config.network.empty() ? "host" : config.network);
  attrs["driver.stockade.privileged.enabled"].set_bool_val(config.allow_privileged);
  return f;
}

}  // namespace

grpc::Status DriverService::Init(Ctx*, const proto::InitRequest*, proto::InitResponse*) {
  // The real (not a probe) launch: the runtime opens now rather than at the first task call.
  // A failure is Fingerprint's to report (UNHEALTHY, with the reason), not a refusal here.
  if (absl::StatusOr<RuntimeCore*> core = CoreOf(plugin_); !core.ok()) {
    Log(LogLevel::kWarn, "runtime not open", {{"error", std::string(core.status().message())}});
  }
  return grpc::Status::OK;
}

grpc::Status DriverService::Shutdown(Ctx*, const proto::ShutdownRequest*,
                                     proto::ShutdownResponse*) {
  // Nothing to prepare: every record is written when made, and tasks outlive the plugin.
  Log(LogLevel::kInfo, "driver shutdown notice; tasks keep running");
  return grpc::Status::OK;
}

grpc::Status DriverService::TaskConfigSchema(Ctx*, const proto::TaskConfigSchemaRequest*,
                                             proto::TaskConfigSchemaResponse* resp) {
  *resp->mutable_spec() = BuildHclSpec(TaskConfigAttributes());
  return grpc::Status::OK;
}

grpc::Status DriverService::Capabilities(Ctx*, const proto::CapabilitiesRequest*,
                                         proto::CapabilitiesResponse* resp) {
  proto::DriverCapabilities* c = resp->mutable_capabilities();
  c->set_send_signals(true);
  c->set_exec(true);
  c->set_fs_isolation(proto::DriverCapabilities::IMAGE);
  c->add_network_isolation_modes(proto::NetworkIsolationSpec::HOST);
  c->add_network_isolation_modes(proto::NetworkIsolationSpec::GROUP);
  // TASK (a group network of mode "driver"): a network of the task's own, which needs the
  // plugin's CNI network.
  const PluginConfig config = plugin_.config();
  if (!config.network.empty() && config.network != "host") {
    c->add_network_isolation_modes(proto::NetworkIsolationSpec::TASK);
  }
  c->set_must_create_network(false);
  c->set_mount_configs(proto::DriverCapabilities::ANY_MOUNTS);
  return grpc::Status::OK;
}

grpc::Status DriverService::Fingerprint(Ctx* ctx, const proto::FingerprintRequest*,
                                        grpc::ServerWriter<proto::FingerprintResponse>* writer) {
  proto::FingerprintResponse last = nomad::Fingerprint(plugin_);
  if (!writer->Write(last)) return grpc::Status::OK;
  absl::Time next = absl::Now() + kFingerprintPeriod;
  while (!ctx->IsCancelled()) {
    absl::SleepFor(absl::Milliseconds(500));
    if (absl::Now() < next) continue;
    next = absl::Now() + kFingerprintPeriod;
    proto::FingerprintResponse now = nomad::Fingerprint(plugin_);
    // Sent every period (Nomad treats a silent stream as healthy, a changed one at once).
    if (!writer->Write(now)) break;
    last = std::move(now);
  }
  return grpc::Status::OK;
}

grpc::Status DriverService::TaskStats(Ctx* ctx, const proto::TaskStatsRequest* req,
                                      grpc::ServerWriter<proto::TaskStatsResponse>* writer) {
  absl::StatusOr<TaskRecord> task = plugin_.Find(req->task_id());
  if (!task.ok()) return ToPluginStatus(task.status());
  absl::StatusOr<RuntimeCore*> core = CoreOf(plugin_);
  if (!core.ok()) return ToPluginStatus(core.status());
  absl::Duration interval = absl::Seconds(req->collection_interval().seconds()) +
                            absl::Nanoseconds(req->collection_interval().nanos());
  if (interval < absl::Milliseconds(100)) interval = absl::Seconds(1);
  while (!ctx->IsCancelled()) {
    absl::StatusOr<ContainerStatsView> stats = (*core)->ContainerStats(task->container_id);
    // A task destroyed meanwhile is a routine end of the stream (Nomad logs any other error).
    if (absl::IsNotFound(stats.status())) return grpc::Status::OK;
    if (!stats.ok()) return ToPluginStatus(stats.status());
    if (!Running(stats->container)) return grpc::Status::OK;  // nothing left to measure
    proto::TaskStatsResponse resp;
    proto::TaskStats* s = resp.mutable_stats();
    s->set_id(task->task_id);
    SetTimestamp(stats->timestamp_unix_nano, s->mutable_timestamp());
    proto::TaskResourceUsage* usage = s->mutable_agg_resource_usage();
    proto::MemoryUsage* mem = usage->mutable_memory();
    mem->set_rss(stats->usage.memory_rss_bytes);
    mem->set_usage(stats->usage.memory_usage_bytes);
    mem->set_cache(stats->usage.memory_usage_bytes > stats->usage.memory_working_set_bytes
                       ? stats->usage.memory_usage_bytes - stats->usage.memory_working_set_bytes
                       : 0);
    for (auto f : {proto::MemoryUsage::RSS, proto::MemoryUsage::USAGE, proto::MemoryUsage::CACHE}) {
      mem->add_measured_fields(f);
    }
    proto::CPUUsage* cpu = usage->mutable_cpu();
    const double percent =
        stats->usage_nano_cores ? static_cast<double>(*stats->usage_nano_cores) / 1e7 : 0.0;
    cpu->set_percent(percent);
    const double core_mhz = plugin_.core_mhz() > 0 ? plugin_.core_mhz() : CpuMhz();
    cpu->set_total_ticks(percent / 100.0 * core_mhz);
    cpu->add_measured_fields(proto::CPUUsage::PERCENT);
    cpu->add_measured_fields(proto::CPUUsage::TOTAL_TICKS);
    if (!writer->Write(resp)) break;
    const absl::Time next = absl::Now() + interval;
    while (!ctx->IsCancelled() && absl::Now() < next) {
      absl::SleepFor(std::min(absl::Milliseconds(200), next - absl::Now()));
    }
  }
  return grpc::Status::OK;
}

grpc::Status DriverService::TaskEvents(Ctx* ctx, const proto::TaskEventsRequest*,
                                       grpc::ServerWriter<proto::DriverTaskEvent>* writer) {
  std::shared_ptr<PluginRuntime::EventQueue> queue = plugin_.SubscribeEvents();
  while (!ctx->IsCancelled()) {
    std::optional<TaskEventNote> note = queue->Next(absl::Milliseconds(500));
    if (!note) continue;
    proto::DriverTaskEvent e;
    e.set_task_id(note->task_id);
    e.set_alloc_id(note->alloc_id);
    e.set_task_name(note->task_name);
    e.set_message(note->message);
    SetTimestamp(note->at_unix_nano, e.mutable_timestamp());
    for (const auto& [k, v] : note->annotations) (*e.mutable_annotations())[k] = v;
    if (!writer->Write(e)) break;
  }
  plugin_.UnsubscribeEvents(queue);
  return grpc::Status::OK;
}

grpc::Status DriverService::CreateNetwork(Ctx*, const proto::CreateNetworkRequest*,
                                          proto::CreateNetworkResponse*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                      "nomad-driver-stockade joins the network namespace Nomad makes "
                      "(must_create_network is false)");
}

grpc::Status DriverService::DestroyNetwork(Ctx*, const proto::DestroyNetworkRequest*,
                                           proto::DestroyNetworkResponse*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                      "nomad-driver-stockade joins the network namespace Nomad makes "
                      "(must_create_network is false)");
}

}  // namespace stockade::nomad
