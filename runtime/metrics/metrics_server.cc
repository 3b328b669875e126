#include "runtime/metrics/metrics_server.h"

#include <exception>

#include "absl/strings/str_cat.h"
#include "prometheus/exposer.h"
#include "runtime/metrics/process_collector.h"

namespace stockade {

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const std::string& address, std::shared_ptr<prometheus::Registry> registry) {
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  try {
    // One worker thread: a scrape every few seconds needs no more, and each costs a stack.
    server->exposer_ = std::make_unique<prometheus::Exposer>(address, /*num_threads=*/1);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("metrics listener on ", address,
                                               " could not start (", e.what(),
                                               "); free the port or change metrics.address"));
  }
  server->registry_ = std::move(registry);
  server->process_ = std::make_shared<ProcessCollector>();
  server->exposer_->RegisterCollectable(server->registry_);
  server->exposer_->RegisterCollectable(server->process_);
  std::vector<int> ports = server->exposer_->GetListeningPorts();
  std::string host = address.substr(0, address.rfind(':'));
  server->bound_address_ = ports.empty() ? address : absl::StrCat(host, ":", ports.front());
  return server;
}

MetricsServer::~MetricsServer() = default;

}  // namespace stockade
