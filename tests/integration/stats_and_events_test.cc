// Pod stats (PodSandboxStats, ListPodSandboxStats) from a real pod's cgroups, network
// namespace and writable layer, and container events (GetContainerEvents) for a whole
// lifecycle, to two subscribers at once. The real daemon and shim. Root.
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

}  // namespace
}  // namespace stockade::testing
