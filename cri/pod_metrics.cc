// ListMetricDescriptors and ListPodSandboxMetrics: cAdvisor-named metrics (containerd's names,
// help texts and label keys) for kubelet's /metrics/cadvisor when it takes container metrics
// from the runtime (PodAndContainerStatsFromCRI). Values are integers as the CRI carries them:
// CPU in whole seconds, memory and disk in bytes. Pod level: the interfaces' counters;
// container level: the rest, for running containers.
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cri/runtime_service.h"
#include "runtime/runtime_core.h"

namespace stockade {
namespace {

enum class Labels { kBase, kNetwork, kDisk };

struct Descriptor {
  const char* name;
  const char* help;
  runtime::v1::MetricType type;
  Labels labels;
};

constexpr runtime::v1::MetricType kCounter = runtime::v1::COUNTER;
constexpr runtime::v1::MetricType kGauge = runtime::v1::GAUGE;

// Every metric stockade sends; kubelet drops samples whose name is not described here.
constexpr Descriptor kDescriptors[] = {
    {"container_cpu_usage_seconds_total", "Cumulative CPU time consumed in seconds.", kCounter,
     Labels::kBase},
    {"container_memory_usage_bytes",
     "Current memory usage in bytes, including all memory regardless of when it was accessed",
     kGauge, Labels::kBase},
    {"container_memory_working_set_bytes",
     "Amount of memory that is actively used by the container, excluding cached memory.", kGauge,
     Labels::kBase},
    {"container_memory_rss",
     "Size of RSS in bytes, total anonymous memory and swap cache memory used by the container.",
     kGauge, Labels::kBase},
    {"container_processes", "Number of processes running inside the container.", kGauge,
     Labels::kBase},
    {"container_threads", "Number of threads running inside the container", kGauge, Labels::kBase},
    {"container_threads_max",
     "Maximum number of threads allowed inside the container, infinity if value is zero", kGauge,
     Labels::kBase},
    {"container_last_seen", "Last time a container was seen by the exporter", kGauge,
     Labels::kBase},
    {"container_start_time_seconds", "Start time of the container since unix epoch in seconds",
     kGauge, Labels::kBase},
    {"container_spec_cpu_period", "CPU period of the container", kGauge, Labels::kBase},
    {"container_spec_cpu_shares", "CPU share of the container", kGauge, Labels::kBase},
    {"container_spec_memory_limit_bytes", "Memory limit for the container", kGauge, Labels::kBase},
    {"container_fs_usage_bytes",
     "Number of bytes that are consumed by the container on this filesystem.", kGauge,
     Labels::kDisk},
    {"container_fs_inodes_total", "Number of Inodes", kGauge, Labels::kDisk},
    {"container_network_receive_bytes_total", "Cumulative count of bytes received", kCounter,
     Labels::kNetwork},
    {"container_network_receive_packets_total", "Cumulative count of packets received", kCounter,
     Labels::kNetwork},
    {"container_network_receive_packets_dropped_total",
     "Cumulative count of packets dropped while receiving", kCounter, Labels::kNetwork},
    {"container_network_receive_errors_total",
     "Cumulative count of errors encountered while receiving", kCounter, Labels::kNetwork},
    {"container_network_transmit_bytes_total", "Cumulative count of bytes transmitted", kCounter,
     Labels::kNetwork},
    {"container_network_transmit_packets_total", "Cumulative count of packets transmitted",
     kCounter, Labels::kNetwork},
    {"container_network_transmit_packets_dropped_total",
     "Cumulative count of packets dropped while transmitting", kCounter, Labels::kNetwork},
    {"container_network_transmit_errors_total",
     "Cumulative count of errors encountered while transmitting", kCounter, Labels::kNetwork},
};

const Descriptor& Find(absl::string_view name) {
  for (const Descriptor& d : kDescriptors) {
    if (d.name == name) return d;
  }
  return kDescriptors[0];  // unreachable: every name below is in the table
}

std::vector<std::string> LabelKeys(Labels labels) {
  std::vector<std::string> keys = {"pod", "namespace", "container", "id", "image"};
  if (labels == Labels::kNetwork) keys.push_back("interface");
  if (labels == Labels::kDisk) keys.push_back("device");
  return keys;
}

// Adds one sample to `out`, with `labels` (the base five, plus the extra one if any).
class Samples {
 public:
  Samples(google::protobuf::RepeatedPtrField<runtime::v1::Metric>& out, int64_t now,
          std::vector<std::string> labels)
      : out_(out), now_(now), labels_(std::move(labels)) {}
  void Add(absl::string_view name, uint64_t value, const std::string& extra = "") {
    const Descriptor& d = Find(name);
    runtime::v1::Metric& m = *out_.Add();
    m.set_name(d.name);
    m.set_timestamp(now_);
    m.set_metric_type(d.type);
    for (const std::string& l : labels_) m.add_label_values(l);
    if (d.labels != Labels::kBase) m.add_label_values(extra);
    m.mutable_value()->set_value(value);
  }

 private:
  google::protobuf::RepeatedPtrField<runtime::v1::Metric>& out_;
  int64_t now_;
  std::vector<std::string> labels_;
};

void AddContainerMetrics(const PodStatsView& pod, const ContainerStatsView& c, int64_t now,
                         runtime::v1::ContainerMetrics& out) {
  out.set_container_id(c.container.id);
  Samples s(*out.mutable_metrics(), now,
            {pod.pod.name, pod.pod.ns, c.container.name, c.container.id, c.container.image});
  const ScopeUsage& u = c.usage;
  s.Add("container_cpu_usage_seconds_total", u.cpu_usage_ns / 1'000'000'000);
  s.Add("container_memory_usage_bytes", u.memory_usage_bytes);
  s.Add("container_memory_working_set_bytes", u.memory_working_set_bytes);
  s.Add("container_memory_rss", u.memory_rss_bytes);
  // The pids controller counts tasks: threads, and processes as containerd reports them too.
  s.Add("container_processes", u.process_count);
  s.Add("container_threads", u.process_count);
  const ResourceLimits& l = c.container.limits;
  s.Add("container_threads_max", l.pids_limit && *l.pids_limit > 0 ? *l.pids_limit : 0);
  s.Add("container_last_seen", static_cast<uint64_t>(now / 1'000'000'000));
  s.Add("container_start_time_seconds",
        static_cast<uint64_t>(c.container.started_at_unix_nano / 1'000'000'000));
  if (l.cpu_period_us && *l.cpu_period_us > 0) s.Add("container_spec_cpu_period", *l.cpu_period_us);
  if (l.cpu_shares && *l.cpu_shares > 0) s.Add("container_spec_cpu_shares", *l.cpu_shares);
  if (l.memory_limit_bytes && *l.memory_limit_bytes > 0) {
    s.Add("container_spec_memory_limit_bytes", *l.memory_limit_bytes);
  }
  if (c.writable_layer) {
    s.Add("container_fs_usage_bytes", c.writable_layer->bytes, "/");
    s.Add("container_fs_inodes_total", c.writable_layer->inodes, "/");
  }
}

void AddPodMetrics(const PodStatsView& pod, int64_t now, runtime::v1::PodSandboxMetrics& out) {
  out.set_pod_sandbox_id(pod.pod.id);
  // As containerd: the pod's own samples leave container and image empty.
  Samples s(*out.mutable_metrics(), now, {pod.pod.name, pod.pod.ns, "", pod.pod.id, ""});
  for (const InterfaceCounters& i : pod.interfaces) {
    s.Add("container_network_receive_bytes_total", i.rx_bytes, i.name);
    s.Add("container_network_receive_packets_total", i.rx_packets, i.name);
    s.Add("container_network_receive_packets_dropped_total", i.rx_dropped, i.name);
    s.Add("container_network_receive_errors_total", i.rx_errors, i.name);
    s.Add("container_network_transmit_bytes_total", i.tx_bytes, i.name);
    s.Add("container_network_transmit_packets_total", i.tx_packets, i.name);
    s.Add("container_network_transmit_packets_dropped_total", i.tx_dropped, i.name);
    s.Add("container_network_transmit_errors_total", i.tx_errors, i.name);
  }
  for (const ContainerStatsView& c : pod.containers) {
    const ContainerState state = c.container.state;
    if (state != ContainerState::kRunning && state != ContainerState::kStopping) continue;
    AddContainerMetrics(pod, c, now, *out.add_container_metrics());
  }
}

}  // namespace

absl::Status RuntimeServiceImpl::DoListMetricDescriptors(
    const runtime::v1::ListMetricDescriptorsRequest& request,
    runtime::v1::ListMetricDescriptorsResponse& response) {
  for (const Descriptor& d : kDescriptors) {
    runtime::v1::MetricDescriptor& out = *response.add_descriptors();
    out.set_name(d.name);
    out.set_help(d.help);
    for (const std::string& key : LabelKeys(d.labels)) out.add_label_keys(key);
  }
  return absl::OkStatus();
}

absl::Status RuntimeServiceImpl::DoListPodSandboxMetrics(
    const runtime::v1::ListPodSandboxMetricsRequest& request,
    runtime::v1::ListPodSandboxMetricsResponse& response) {
  const int64_t now = absl::GetCurrentTimeNanos();
  for (const PodStatsView& pod : core_.ListPodStats({})) {
    AddPodMetrics(pod, now, *response.add_pod_metrics());
  }
  return absl::OkStatus();
}

}  // namespace stockade
