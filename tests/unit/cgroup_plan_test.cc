#include "runtime/cgroup_plan.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stockade {
namespace {

using ::testing::ElementsAre;

ResourceLimits Everything() {
  ResourceLimits l;
  l.cpu_shares = 512;
  l.cpu_quota_us = 50000;
  l.cpu_period_us = 100000;
  l.memory_limit_bytes = 64 << 20;
  l.pids_limit = 100;
  l.cpuset_cpus = "0-1";
  return l;
}

TEST(CgroupPlan, V1WritesEachControllersFiles) {
  EXPECT_THAT(PlanCgroupWrites(CgroupVersion::kV1, Everything()),
              ElementsAre(CgroupWrite{"cpu", "cpu.shares", "512"},
                          CgroupWrite{"cpu", "cpu.cfs_period_us", "100000"},
                          CgroupWrite{"cpu", "cpu.cfs_quota_us", "50000"},
                          CgroupWrite{"memory", "memory.limit_in_bytes", "67108864"},
                          CgroupWrite{"pids", "pids.max", "100"},
                          CgroupWrite{"cpuset", "cpuset.cpus", "0-1"}));
}

TEST(CgroupPlan, V2WritesTheUnifiedFiles) {
  EXPECT_THAT(
      PlanCgroupWrites(CgroupVersion::kV2, Everything()),
      ElementsAre(CgroupWrite{"", "cpu.weight", "20"}, CgroupWrite{"", "cpu.max", "50000 100000"},
                  CgroupWrite{"", "memory.max", "67108864"},
                  CgroupWrite{"", "memory.swap.max", "0"}, CgroupWrite{"", "pids.max", "100"},
                  CgroupWrite{"", "cpuset.cpus", "0-1"}));
  ResourceLimits period_only;
  period_only.cpu_period_us = 200000;
  EXPECT_THAT(PlanCgroupWrites(CgroupVersion::kV2, period_only),
              ElementsAre(CgroupWrite{"", "cpu.max", "max 200000"}));
}

TEST(CgroupPlan, UnsetOrZeroFieldsWriteNothing) {
  ResourceLimits zeros;
  zeros.cpu_shares = 0;
  zeros.memory_limit_bytes = 0;
  EXPECT_TRUE(PlanCgroupWrites(CgroupVersion::kV1, zeros).empty());
  EXPECT_TRUE(PlanCgroupWrites(CgroupVersion::kV2, ResourceLimits{}).empty());
}

TEST(CgroupPlan, SharesToWeightMatchesRunc) {
  EXPECT_EQ(CpuSharesToWeight(2), 1);
  EXPECT_EQ(CpuSharesToWeight(1024), 39);
  EXPECT_EQ(CpuSharesToWeight(262144), 10000);
  EXPECT_EQ(CpuSharesToWeight(1), 1);  // clamped
}

}  // namespace
}  // namespace stockade
