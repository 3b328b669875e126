#include "runtime/mountinfo.h"

#include "gtest/gtest.h"

namespace stockade {
namespace {

constexpr char kMountinfo[] =
    "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
    "30 22 0:25 / /run rw,nosuid - tmpfs tmpfs rw\n"
    "41 22 254:0 /tmp/x /tmp/x rw master:1 - ext4 /dev/vda rw\n"
    "42 22 254:0 /data /srv/my\\040data rw shared:7 master:1 - ext4 /dev/vda rw\n"
    "43 22 254:0 /tmp/x /tmp/xy rw - ext4 /dev/vda rw\n";

TEST(Mountinfo, TheLongestMountPointPrefixWinsWithItsPropagation) {
  std::optional<MountPropagationInfo> m = MountOf(kMountinfo, "/var/lib/kubelet/pods");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->mount_point, "/");
  EXPECT_TRUE(m->shared);
  m = MountOf(kMountinfo, "/run/x");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->mount_point, "/run");
  EXPECT_FALSE(m->shared);
  EXPECT_FALSE(m->slave);
  m = MountOf(kMountinfo, "/tmp/x/y");
  EXPECT_EQ(m->mount_point, "/tmp/x");
  EXPECT_TRUE(m->slave);
  EXPECT_FALSE(m->shared);
  // "/tmp/xy" is no subdirectory of "/tmp/x"; escaped blanks are read back.
  EXPECT_EQ(MountOf(kMountinfo, "/tmp/xy")->mount_point, "/tmp/xy");
  m = MountOf(kMountinfo, "/srv/my data/a");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->mount_point, "/srv/my data");
  EXPECT_TRUE(m->shared && m->slave);
  EXPECT_FALSE(MountOf("", "/x"));
}

}  // namespace
}  // namespace stockade
