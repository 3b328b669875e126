// The runtime core's bookkeeping: IDs and their prefixes, name reservation, state machines.
#include <set>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/ids.h"
#include "runtime/lifecycle.h"
#include "runtime/name_registry.h"

namespace stockade {
namespace {

using ::testing::HasSubstr;

TEST(Ids, AreSixtyFourHexCharactersAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = NewId();
    ASSERT_TRUE(IsValidId(id)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_FALSE(IsValidId(std::string(64, 'g')));
  EXPECT_FALSE(IsValidId(std::string(63, 'a')));
}

TEST(IdIndex, ResolvesUniquePrefixesLikeContainerd) {
  IdIndex index;
  const std::string a = "abc" + std::string(61, '1');
  const std::string b = "abd" + std::string(61, '2');
  ASSERT_TRUE(index.Add(a).ok());
  ASSERT_TRUE(index.Add(b).ok());
  EXPECT_EQ(*index.Resolve("abc"), a);
  EXPECT_EQ(*index.Resolve(b), b);
  absl::StatusOr<std::string> ambiguous = index.Resolve("ab");
  EXPECT_EQ(ambiguous.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(ambiguous.status().message()), HasSubstr("Multiple IDs"));
  EXPECT_EQ(index.Resolve("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(index.Resolve("ff").status().code(), absl::StatusCode::kNotFound);
  index.Remove(a);
  EXPECT_EQ(*index.Resolve("ab"), b);
  EXPECT_EQ(index.Add("not-an-id").code(), absl::StatusCode::kInvalidArgument);
}

TEST(NameRegistry, SameNameAndIdIsIdempotentOtherIdIsAlreadyExists) {
  NameRegistry names;
  const std::string name = SandboxName("web", "default", "uid-1", 0);
  EXPECT_EQ(name, "web_default_uid-1_0");
  EXPECT_EQ(ContainerName("app", "web", "default", "uid-1", 2), "app_web_default_uid-1_2");
  ASSERT_TRUE(names.Reserve(name, "id1").ok());
  EXPECT_TRUE(names.Reserve(name, "id1").ok());
  absl::Status taken = names.Reserve(name, "id2");
  EXPECT_EQ(taken.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(taken.message()), HasSubstr("id1"));
  names.Release(name);
  EXPECT_TRUE(names.Reserve(name, "id2").ok());
  EXPECT_EQ(names.Holder(name), "id2");
}

TEST(NameRegistry, ConcurrentReservationsHaveOneWinner) {
  NameRegistry names;
  std::atomic<int> winners{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] { winners += names.Reserve("pod_ns_uid_0", NewId()).ok(); });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(winners.load(), 1);
}

TEST(Lifecycle, PodTransitionsFollowTheDiagram) {
  EXPECT_TRUE(CheckPodTransition(PodState::kCreating, PodState::kReady).ok());
  EXPECT_TRUE(CheckPodTransition(PodState::kReady, PodState::kStopping).ok());
  EXPECT_TRUE(CheckPodTransition(PodState::kStopping, PodState::kNotReady).ok());
  EXPECT_TRUE(CheckPodTransition(PodState::kReady, PodState::kNotReady).ok());
  EXPECT_TRUE(CheckPodTransition(PodState::kNotReady, PodState::kRemoving).ok());
  absl::Status s = CheckPodTransition(PodState::kReady, PodState::kRemoving);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()), HasSubstr("READY to REMOVING"));
  EXPECT_FALSE(CheckPodTransition(PodState::kRemoving, PodState::kReady).ok());
}

TEST(Lifecycle, ContainerTransitionsFollowTheDiagram) {
  using S = ContainerState;
  EXPECT_TRUE(CheckContainerTransition(S::kCreating, S::kCreated).ok());
  EXPECT_TRUE(CheckContainerTransition(S::kCreated, S::kRunning).ok());
  EXPECT_TRUE(CheckContainerTransition(S::kRunning, S::kExited).ok());
  EXPECT_TRUE(CheckContainerTransition(S::kRunning, S::kUnknown).ok());
  EXPECT_TRUE(CheckContainerTransition(S::kExited, S::kRemoving).ok());
  EXPECT_EQ(CheckContainerTransition(S::kRunning, S::kRunning).code(),
            absl::StatusCode::kFailedPrecondition);  // start twice
  EXPECT_FALSE(CheckContainerTransition(S::kExited, S::kRunning).ok());
  EXPECT_FALSE(CheckContainerTransition(S::kRunning, S::kRemoving).ok());
}

}  // namespace
}  // namespace stockade
