#include "runtime/cgroup_driver.h"

#include <filesystem>

#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace stockade {
namespace {

TEST(CgroupDriver, ExplicitSettingWins) {
  EXPECT_EQ(ResolveCgroupDriver(CgroupDriverSetting::kSystemd, "/nonexistent"),
            CgroupDriver::kSystemd);
  EXPECT_EQ(ResolveCgroupDriver(CgroupDriverSetting::kCgroupfs, "/"), CgroupDriver::kCgroupfs);
}

TEST(CgroupDriver, AutoFollowsSystemdMarker) {
  testing::TempDir dir;
  EXPECT_EQ(ResolveCgroupDriver(CgroupDriverSetting::kAuto, dir.Sub("system")),
            CgroupDriver::kCgroupfs);
  std::filesystem::create_directory(dir.Sub("system"));
  EXPECT_EQ(ResolveCgroupDriver(CgroupDriverSetting::kAuto, dir.Sub("system")),
            CgroupDriver::kSystemd);
}

TEST(CgroupDriver, SystemdSlicesNestAsSystemdNestsThem) {
  EXPECT_EQ(*CgroupParentDirectory("kubepods-burstable-pod1234.slice"),
            "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice");
  EXPECT_EQ(*CgroupParentDirectory("kubepods.slice"), "kubepods.slice");
  EXPECT_EQ(*CgroupParentDirectory("-.slice"), "");
  EXPECT_EQ(*CgroupParentDirectory("/kubepods/burstable/pod1234"), "kubepods/burstable/pod1234");
  for (const char* bad : {"kubepods--x.slice", "-kubepods.slice", "kubepods-.slice", ".slice",
                          "/kubepods/../../etc"}) {
    EXPECT_EQ(CgroupParentDirectory(bad).status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

}  // namespace
}  // namespace stockade
