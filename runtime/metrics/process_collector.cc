#include "runtime/metrics/process_collector.h"

#include "prometheus/metric_family.h"
#include "runtime/metrics/process_stats.h"

namespace stockade {
namespace {

prometheus::MetricFamily Gauge(std::string name, std::string help, double value) {
  prometheus::MetricFamily family{
      std::move(name), std::move(help), prometheus::MetricType::Gauge, {}};
  prometheus::ClientMetric m;
  m.gauge.value = value;
  family.metric.push_back(std::move(m));
  return family;
}

}  // namespace

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  absl::StatusOr<ProcessStats> s = ReadSelfProcessStats();
  if (!s.ok()) return {};
  std::vector<prometheus::MetricFamily> out;
  prometheus::MetricFamily cpu{"process_cpu_seconds_total",
                               "Total user and system CPU time spent in seconds.",
                               prometheus::MetricType::Counter,
                               {}};
  prometheus::ClientMetric m;
  m.counter.value = s->cpu_seconds;
  cpu.metric.push_back(std::move(m));
  out.push_back(std::move(cpu));
  out.push_back(Gauge("process_resident_memory_bytes", "Resident memory size in bytes.",
                      static_cast<double>(s->resident_bytes)));
  out.push_back(Gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                      static_cast<double>(s->virtual_bytes)));
  out.push_back(Gauge("process_open_fds", "Number of open file descriptors.",
                      static_cast<double>(s->open_fds)));
  out.push_back(Gauge("process_threads", "Number of OS threads in the process.",
                      static_cast<double>(s->threads)));
  out.push_back(Gauge("process_start_time_seconds",
                      "Start time of the process since unix epoch in seconds.",
                      s->start_time_seconds));
  return out;
}

}  // namespace stockade
