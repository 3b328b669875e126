// The Prometheus /metrics HTTP listener (prometheus-cpp's pull exposer) over one registry,
// plus the process_* collector.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "prometheus/registry.h"

namespace prometheus {
class Exposer;
}

namespace stockade {

class ProcessCollector;

class MetricsServer {
 public:
  // Listens on `address` (host:port; port 0 picks a free one).
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(
      const std::string& address, std::shared_ptr<prometheus::Registry> registry);
  ~MetricsServer();

  // host:port actually bound.
  const std::string& bound_address() const { return bound_address_; }

 private:
  MetricsServer() = default;
  std::shared_ptr<prometheus::Registry> registry_;  // the exposer holds only weak references
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::shared_ptr<ProcessCollector> process_;
  std::string bound_address_;
};

}  // namespace stockade
