#include "runtime/runtime_settings.h"

#include "gtest/gtest.h"
#include "state/memory_state_store.h"

namespace stockade {
namespace {

TEST(PodCidrList, AcceptsKubeletForms) {
  EXPECT_TRUE(ParsePodCidrList("")->empty());
  EXPECT_EQ(ParsePodCidrList("10.88.0.0/16")->size(), 1u);
  EXPECT_EQ(*ParsePodCidrList("10.88.0.0/16, fd00:88::/64"),
            (std::vector<std::string>{"10.88.0.0/16", "fd00:88::/64"}));
}

TEST(PodCidrList, RejectsAbsurdInput) {
  for (const char* bad : {"10.88.0.0", "10.88.0.0/33", "fd00::/129", "banana/8", "10.0.0.0/-1",
                          "10.0.0.0/16,", "/16"}) {
    absl::StatusOr<std::vector<std::string>> r = ParsePodCidrList(bad);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(RuntimeSettings, PodCidrIsPersistedSyncedAndReloaded) {
  MemoryStateStore store;
  {
    auto settings = RuntimeSettings::Load(store);
    ASSERT_TRUE(settings.ok());
    EXPECT_EQ((*settings)->pod_cidr(), "");
    ASSERT_TRUE((*settings)->SetPodCidr("10.88.0.0/16").ok());
    EXPECT_EQ(store.sync_writes(), 1);
    // kubelet repeats the same CIDR on every sync: no further write.
    ASSERT_TRUE((*settings)->SetPodCidr("10.88.0.0/16").ok());
    EXPECT_EQ(store.sync_writes(), 1);
  }
  auto reloaded = RuntimeSettings::Load(store);
  ASSERT_TRUE(reloaded.ok());
  EXPECT_EQ((*reloaded)->pod_cidr(), "10.88.0.0/16");
}

TEST(RuntimeSettings, InvalidOrUnpersistableCidrLeavesTheOldOne) {
  MemoryStateStore store;
  auto settings = RuntimeSettings::Load(store);
  ASSERT_TRUE((*settings)->SetPodCidr("10.1.0.0/24").ok());
  EXPECT_FALSE((*settings)->SetPodCidr("10.2.0.0/99").ok());
  store.FailNextWrite(absl::UnavailableError("disk"));
  EXPECT_FALSE((*settings)->SetPodCidr("10.3.0.0/24").ok());
  EXPECT_EQ((*settings)->pod_cidr(), "10.1.0.0/24");
}

}  // namespace
}  // namespace stockade
