// A snapshot's disk usage (the writable layer in container stats): what du counts, and never
// more than the tree itself, whatever links the container wrote into it.
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "runtime/snapshot/snapshot_dirs.h"
#include "tests/support/temp_dir.h"

namespace stockade {
namespace {

TEST(TreeUsage, CountsFilesOnceAndFollowsNoLink) {
  stockade::testing::TempDir dir;
  const std::string tree = dir.path() + "/upper", outside = dir.path() + "/outside";
  ASSERT_EQ(::mkdir(tree.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((tree + "/sub").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(outside.c_str(), 0755), 0);
  std::ofstream(tree + "/sub/data") << std::string(1 << 20, 'x');
  std::ofstream(outside + "/big") << std::string(4 << 20, 'y');
  ASSERT_EQ(::link((tree + "/sub/data").c_str(), (tree + "/hardlink").c_str()), 0);
  // Links a container could write, to a directory and a file of the host.
  ASSERT_EQ(::symlink(outside.c_str(), (tree + "/to-host-dir").c_str()), 0);
  ASSERT_EQ(::symlink((outside + "/big").c_str(), (tree + "/to-host-file").c_str()), 0);
  absl::StatusOr<DiskUsage> u = TreeUsage(tree);
  ASSERT_TRUE(u.ok()) << u.status();
  // upper, sub, data (its second name counts no more), two symlinks.
  EXPECT_EQ(u->inodes, 5u);
  EXPECT_GE(u->bytes, 1u << 20);
  EXPECT_LT(u->bytes, 2u << 20);  // neither the hard link twice nor the 4 MiB outside
  // The tree itself as a link is refused, not followed.
  ASSERT_EQ(::symlink(outside.c_str(), (dir.path() + "/link-tree").c_str()), 0);
  EXPECT_EQ(TreeUsage(dir.path() + "/link-tree").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(TreeUsage(dir.path() + "/missing").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace stockade
