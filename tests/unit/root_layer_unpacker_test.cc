// Layer extraction features that need root: owners, device nodes, overlayfs whiteouts.
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <filesystem>

#include "gtest/gtest.h"
#include "imagestore/layer_unpacker.h"
#include "tests/support/string_source.h"
#include "tests/support/tar_builder.h"
#include "tests/support/temp_dir.h"

namespace stockade {
namespace {

using testing::StringSource;
using testing::TarBuilder;
using testing::TempDir;

TEST(RootLayerUnpacker, OwnersDevicesAndOverlayWhiteouts) {
  ASSERT_EQ(::geteuid(), 0u) << "this test is labelled root and must run as root";
  TempDir dir;
  const std::string tar = TarBuilder()
                              .File("owned", "x", 0600, 1000, 1001)
                              .CharDevice("dev/null", 1, 3)
                              .File(".wh.hidden", "")
                              .Dir("opaque")
                              .File("opaque/.wh..wh..opq", "")
                              .Xattr("with-xattr", "user.stockade", "yes")
                              .Finish();
  StringSource source(tar);
  absl::StatusOr<UnpackResult> r = UnpackLayer(source, dir.path(), DefaultUnpackOptions());
  ASSERT_TRUE(r.ok()) << r.status();
  struct stat st;
  ASSERT_EQ(::lstat(dir.Sub("owned").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 1001u);
  ASSERT_EQ(::lstat(dir.Sub("dev/null").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
  ASSERT_EQ(::lstat(dir.Sub("hidden").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  EXPECT_FALSE(std::filesystem::exists(dir.Sub(".wh.hidden")));
  char value[8] = {};
  EXPECT_EQ(::getxattr(dir.Sub("opaque").c_str(), "trusted.overlay.opaque", value, sizeof(value)),
            1);
  EXPECT_EQ(value[0], 'y');
  EXPECT_EQ(::getxattr(dir.Sub("with-xattr").c_str(), "user.stockade", value, sizeof(value)), 3);
}

}  // namespace
}  // namespace stockade
