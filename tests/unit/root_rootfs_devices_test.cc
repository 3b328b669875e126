// Device nodes where the runtime reads an image's files (an image layer may carry them when
// the daemon runs as root): never read, so a /dev/zero cannot make the daemon read forever.
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>

#include "common/rootfs_path.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace stockade {
namespace {

using ::testing::HasSubstr;

TEST(RootfsDevices, DeviceNodesAndLinksToThemAreNotRead) {
  ASSERT_EQ(::geteuid(), 0u) << "mknod needs root";
  testing::TempDir dir;
  const std::string root = dir.Sub("root");
  std::filesystem::create_directories(root + "/etc");
  std::filesystem::create_directories(root + "/dev");
  ASSERT_EQ(::mknod((root + "/dev/zero").c_str(), S_IFCHR | 0666, makedev(1, 5)), 0);
  ASSERT_EQ(::mknod((root + "/etc/group").c_str(), S_IFCHR | 0666, makedev(1, 5)), 0);
  std::filesystem::create_symlink("/dev/zero", root + "/etc/passwd");
  for (const char* path : {"/etc/passwd", "/etc/group"}) {
    absl::StatusOr<std::string> text = ReadImageFile(root, path, 1 << 20);
    EXPECT_EQ(text.status().code(), absl::StatusCode::kFailedPrecondition) << path;
    EXPECT_THAT(text.status().message(), HasSubstr("is not a regular file")) << path;
  }
}

}  // namespace
}  // namespace stockade
