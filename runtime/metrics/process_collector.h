// Prometheus process_* metrics for the daemon (the names Prometheus's own clients use), read
// fresh on every scrape.
#pragma once

#include <vector>

#include "prometheus/collectable.h"

namespace stockade {

class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace stockade
