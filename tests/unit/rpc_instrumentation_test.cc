#include "cri/rpc_instrumentation.h"

#include <thread>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "prometheus/text_serializer.h"

namespace stockade {
namespace {

std::string Scrape(prometheus::Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

TEST(RpcInstrumentation, RecordsLatencyForEveryCallAndErrorsByCode) {
  prometheus::Registry registry;
  RpcInstrumentation rpc(registry, {"runtime.v1.RuntimeService", "runtime.v1.ImageService"});
  EXPECT_TRUE(rpc.Serve("Version", [] { return absl::OkStatus(); }).ok());
  grpc::Status failed = rpc.Serve("PodSandboxStatus", [] { return absl::NotFoundError("no pod"); });
  EXPECT_EQ(failed.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(failed.error_message(), "no pod");

  const std::string text = Scrape(registry);
  EXPECT_NE(text.find("stockade_cri_request_duration_seconds_count{method=\"Version\",service="
                      "\"RuntimeService\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("stockade_cri_request_errors_total{code=\"NotFound\",method="
                      "\"PodSandboxStatus\",service=\"RuntimeService\"} 1"),
            std::string::npos)
      << text;
  // Series exist for methods never called, so dashboards see zeros, not gaps.
  EXPECT_NE(text.find("method=\"PullImage\",service=\"ImageService\"} 0"), std::string::npos);
}

TEST(RpcInstrumentation, ExceptionsBecomeInternalErrors) {
  prometheus::Registry registry;
  RpcInstrumentation rpc(registry, {"runtime.v1.RuntimeService"});
  grpc::Status s = rpc.Serve("Status", []() -> absl::Status { throw std::runtime_error("oops"); });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_NE(s.error_message().find("oops"), std::string::npos);
}

TEST(RpcInstrumentation, DrainWaitsForCallsInFlightAndRefusesNewOnes) {
  prometheus::Registry registry;
  RpcInstrumentation rpc(registry, {"runtime.v1.RuntimeService"});
  absl::Notification started, release;
  grpc::Status slow_result;
  std::thread slow([&] {
    slow_result = rpc.Serve("Status", [&] {
      started.Notify();
      release.WaitForNotification();
      return absl::OkStatus();
    });
  });
  started.WaitForNotification();
  // The deadline passes with the call still running: it is reported as unfinished.
  EXPECT_EQ(rpc.Drain(absl::Now() + absl::Milliseconds(50)), 1);
  grpc::Status refused = rpc.Serve("Version", [] { return absl::OkStatus(); });
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE);
  std::thread releaser([&] {
    absl::SleepFor(absl::Milliseconds(20));
    release.Notify();
  });
  EXPECT_EQ(rpc.Drain(absl::Now() + absl::Seconds(30)), 0);
  slow.join();
  releaser.join();
  EXPECT_TRUE(slow_result.ok());
}

TEST(RpcInstrumentation, NotImplementedYetNamesTheMethod) {
  absl::Status s = RpcInstrumentation::NotImplementedYet("Attach");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented);
  EXPECT_NE(s.message().find("Attach"), absl::string_view::npos);
}

}  // namespace
}  // namespace stockade
