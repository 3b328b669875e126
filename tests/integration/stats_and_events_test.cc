// Pod stats (PodSandboxStats, ListPodSandboxStats) from a real pod's cgroups, network
// namespace and writable layer, and container events (GetContainerEvents) for a whole
// lifecycle, to two subscribers at once. The real daemon and shim. Root.
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "tests/support/pod_fixture.h"
#include "tests/support/stream_client.h"

namespace stockade::testing {
namespace {

class StatsAndEventsTest : public PodFixture {};

TEST_F(StatsAndEventsTest, PodStatsCoverCpuMemoryProcessesNetworkAndTheWritableLayer) {
  const std::string pod = RunPod(PodConfig("podstats"));
  const std::string id = Start(pod, Root("busy", {"sh", "-c",
                                                  "head -c 4000000 /dev/zero > /fill; "
                                                  "sleep 1000 & while true; do :; done"}));
  v1::PodSandboxStatusRequest status_req;
  status_req.set_pod_sandbox_id(pod);
  v1::PodSandboxStatusResponse status;
  ASSERT_TRUE(runtime_->PodSandboxStatus(Ctx().get(), status_req, &status).ok());
  const std::string ip = status.status().network().ip();
  ASSERT_FALSE(ip.empty());
  v1::PodSandboxStatsRequest req;
  req.set_pod_sandbox_id(pod);
  v1::PodSandboxStatsResponse resp;
  ASSERT_TRUE(WaitFor(
      [&] {
        DialTcp(ip, 9);  // refused: a SYN in, a RST out, on the pod's eth0
        if (!runtime_->PodSandboxStats(Ctx().get(), req, &resp).ok()) return false;
        const v1::LinuxPodSandboxStats& l = resp.stats().linux();
        return l.cpu().usage_core_nano_seconds().value() > 200'000'000 &&
               l.process().process_count().value() >= 2 &&
               l.network().default_interface().rx_bytes().value() > 0 &&
               l.network().default_interface().tx_bytes().value() > 0 && l.containers_size() == 1 &&
               l.containers(0).writable_layer().used_bytes().value() >= 4'000'000;
      },
      absl::Seconds(20)))
      << resp.DebugString();
  const v1::PodSandboxStats& s = resp.stats();
  EXPECT_EQ(s.attributes().id(), pod);
  EXPECT_EQ(s.attributes().metadata().name(), "podstats");
  EXPECT_EQ(s.linux().network().default_interface().name(), "eth0");
  EXPECT_GE(s.linux().memory().working_set_bytes().value(), 0u);
  EXPECT_GT(s.linux().memory().usage_bytes().value(), 0u);
  EXPECT_EQ(s.linux().containers(0).attributes().id(), id);
  EXPECT_GE(s.linux().containers(0).writable_layer().inodes_used().value(), 1u);

  v1::ListPodSandboxStatsResponse all;
  ASSERT_TRUE(runtime_->ListPodSandboxStats(Ctx().get(), {}, &all).ok());
  ASSERT_EQ(all.stats_size(), 1);
  EXPECT_EQ(all.stats(0).attributes().id(), pod);

  // A stopped pod has no stats, and is not listed.
  v1::StopPodSandboxRequest stop;
  stop.set_pod_sandbox_id(pod);
  v1::StopPodSandboxResponse stopped;
  ASSERT_TRUE(runtime_->StopPodSandbox(Ctx().get(), stop, &stopped).ok());
  EXPECT_EQ(runtime_->PodSandboxStats(Ctx().get(), req, &resp).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  ASSERT_TRUE(runtime_->ListPodSandboxStats(Ctx().get(), {}, &all).ok());
  EXPECT_EQ(all.stats_size(), 0);
  req.set_pod_sandbox_id("no-such-pod");
  EXPECT_EQ(runtime_->PodSandboxStats(Ctx().get(), req, &resp).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(StatsAndEventsTest, EventsOfAWholeLifecycleArriveInOrderAtEverySubscriber) {
  struct Subscriber {
    std::unique_ptr<grpc::ClientContext> ctx = Ctx(60);
    std::unique_ptr<grpc::ClientReader<v1::ContainerEventResponse>> reader;
    std::vector<v1::ContainerEventResponse> events;
    std::thread thread;
  };
  Subscriber subscribers[2];
  for (Subscriber& s : subscribers) {
    s.reader = runtime_->GetContainerEvents(s.ctx.get(), v1::GetEventsRequest());
  }
  absl::SleepFor(absl::Milliseconds(300));  // both subscribed before the first event
  const std::string pod = RunPod(PodConfig("events"));
  const std::string id = Start(pod, Root("c", {"sh", "-c", "sleep 1; exit 3"}));
  for (Subscriber& s : subscribers) {
    s.thread = std::thread([&s, id] {
      v1::ContainerEventResponse e;
      while (s.events.size() < 4 && s.reader->Read(&e)) {
        if (e.container_id() == id) s.events.push_back(e);
      }
    });
  }
  // The exit is noticed without anyone asking about the container.
  absl::SleepFor(absl::Seconds(3));
  v1::RemoveContainerRequest remove;
  remove.set_container_id(id);
  v1::RemoveContainerResponse removed;
  ASSERT_TRUE(runtime_->RemoveContainer(Ctx().get(), remove, &removed).ok());
  for (Subscriber& s : subscribers) {
    s.thread.join();
    s.ctx->TryCancel();
    ASSERT_EQ(s.events.size(), 4u);
    EXPECT_EQ(s.events[0].container_event_type(), v1::CONTAINER_CREATED_EVENT);
    EXPECT_EQ(s.events[1].container_event_type(), v1::CONTAINER_STARTED_EVENT);
    EXPECT_EQ(s.events[2].container_event_type(), v1::CONTAINER_STOPPED_EVENT);
    EXPECT_EQ(s.events[3].container_event_type(), v1::CONTAINER_DELETED_EVENT);
    for (size_t i = 0; i < 4; ++i) {
      EXPECT_EQ(s.events[i].pod_sandbox_status().id(), pod);
      if (i > 0) EXPECT_GE(s.events[i].created_at(), s.events[i - 1].created_at());
    }
    // The stop's statuses show the exit; the delete's no longer list the container.
    ASSERT_EQ(s.events[2].containers_statuses_size(), 1);
    EXPECT_EQ(s.events[2].containers_statuses(0).state(), v1::CONTAINER_EXITED);
    EXPECT_EQ(s.events[2].containers_statuses(0).exit_code(), 3);
    EXPECT_EQ(s.events[3].containers_statuses_size(), 0);
  }
}

TEST_F(StatsAndEventsTest, PodSandboxMetricsMatchTheirDescriptorsAsKubeletChecks) {
  const std::string pod = RunPod(PodConfig("metrics"));
  const std::string id = Start(pod, Root("busy", {"sh", "-c", "while true; do :; done"}));
  v1::ListMetricDescriptorsResponse descriptors;
  ASSERT_TRUE(runtime_->ListMetricDescriptors(Ctx().get(), {}, &descriptors).ok());
  std::map<std::string, size_t> label_count;
  for (const v1::MetricDescriptor& d : descriptors.descriptors()) {
    EXPECT_FALSE(d.help().empty()) << d.name();
    EXPECT_EQ(d.label_keys(0), "pod");
    EXPECT_EQ(d.label_keys(1), "namespace");
    EXPECT_EQ(d.label_keys(2), "container");
    EXPECT_TRUE(label_count.emplace(d.name(), d.label_keys_size()).second) << d.name();
  }
  v1::ListPodSandboxMetricsResponse resp;
  std::map<std::string, uint64_t> container, network;
  ASSERT_TRUE(WaitFor(
      [&] {
        container.clear();
        network.clear();
        if (!runtime_->ListPodSandboxMetrics(Ctx().get(), {}, &resp).ok()) return false;
        for (const v1::PodSandboxMetrics& p : resp.pod_metrics()) {
          for (const v1::Metric& m : p.metrics()) network[m.name()] = m.value().value();
          for (const v1::ContainerMetrics& c : p.container_metrics()) {
            for (const v1::Metric& m : c.metrics()) container[m.name()] = m.value().value();
          }
        }
        return container["container_cpu_usage_seconds_total"] >= 1;
      },
      absl::Seconds(20)))
      << resp.DebugString();
  ASSERT_EQ(resp.pod_metrics_size(), 1);
  const v1::PodSandboxMetrics& p = resp.pod_metrics(0);
  EXPECT_EQ(p.pod_sandbox_id(), pod);
  ASSERT_EQ(p.container_metrics_size(), 1);
  EXPECT_EQ(p.container_metrics(0).container_id(), id);
  // Every sample has a descriptor and as many label values as it has keys (else kubelet
  // drops it), and a timestamp.
  auto check = [&](const v1::Metric& m) {
    ASSERT_EQ(label_count.count(m.name()), 1u) << m.name();
    EXPECT_EQ(static_cast<size_t>(m.label_values_size()), label_count[m.name()]) << m.name();
    EXPECT_GT(m.timestamp(), 0);
  };
  for (const v1::Metric& m : p.metrics()) check(m);
  for (const v1::Metric& m : p.container_metrics(0).metrics()) check(m);
  const v1::Metric& first = p.container_metrics(0).metrics(0);
  EXPECT_EQ(first.label_values(0), "metrics");  // the pod's name
  EXPECT_EQ(first.label_values(2), "busy");
  EXPECT_EQ(first.label_values(3), id);
  EXPECT_GT(container["container_memory_usage_bytes"], 0u);
  EXPECT_GE(container["container_processes"], 1u);
  EXPECT_GT(container["container_start_time_seconds"], 1'700'000'000u);
  EXPECT_EQ(network.count("container_network_receive_bytes_total"), 1u);
  EXPECT_EQ(network.count("container_network_transmit_errors_total"), 1u);
}

}  // namespace
}  // namespace stockade::testing
