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

}  // namespace
}  // namespace stockade
