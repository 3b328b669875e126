// The rootfs resolver on real temp dirs: links out of the root, absolute and relative, "..",
// loops, dangling links, FIFOs, oversized files. No root needed.
#include "common/rootfs_path.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/unique_fd.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/files.h"
#include "tests/support/temp_dir.h"

namespace stockade {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

class RootfsPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.Sub("root");
    outside_ = dir_.Sub("outside");
    std::filesystem::create_directories(root_ + "/etc");
    std::filesystem::create_directories(outside_);
    std::ofstream(outside_ + "/secret") << "node's";
    std::ofstream(root_ + "/etc/passwd") << "root:x:0:0::/:/bin/sh\n";
    // Links that would leave the root if followed from the node's "/".
    std::filesystem::create_symlink(outside_, root_ + "/abs");
    std::filesystem::create_symlink("../../../../../../../../" + outside_, root_ + "/rel");
    std::filesystem::create_symlink("..", root_ + "/up");
    std::filesystem::create_symlink("loop2", root_ + "/loop1");
    std::filesystem::create_symlink("loop1", root_ + "/loop2");
    std::filesystem::create_symlink(outside_ + "/nowhere/deeper", root_ + "/dangling");
    std::filesystem::create_symlink("/etc/passwd", root_ + "/etc/passwd-link");
    root_fd_.Reset(::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(root_fd_);
  }

  // The path, relative to the root, that an fd refers to (or the node path when outside).
  std::string Where(int fd) {
    char buf[4096];
    const std::string link = "/proc/self/fd/" + std::to_string(fd);
    const ssize_t n = ::readlink(link.c_str(), buf, sizeof(buf));
    if (n < 0) return "?";
    std::string path(buf, static_cast<size_t>(n));
    if (path.rfind(root_, 0) == 0) return path.substr(root_.size());
    return "OUTSIDE " + path;
  }

  std::vector<std::string> Outside() {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(outside_)) {
      out.push_back(e.path().filename().string());
    }
    return out;
  }

  TempDir dir_;
  std::string root_, outside_;
  UniqueFd root_fd_;
};

TEST_F(RootfsPathTest, LinksAndDotDotStayInsideTheRoot) {
  UniqueFd fd(OpenInRoot(root_fd_.get(), "/up/up/../etc/passwd-link", O_RDONLY));
  ASSERT_TRUE(fd) << std::strerror(errno);
  EXPECT_EQ(Where(fd.get()), "/etc/passwd");
  // The absolute and the relative link to the node's directory lead to the root's own paths,
  // where there is no secret.
  EXPECT_LT(OpenInRoot(root_fd_.get(), "abs/secret", O_RDONLY), 0);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_LT(OpenInRoot(root_fd_.get(), "/rel/secret", O_RDONLY), 0);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_LT(OpenInRoot(root_fd_.get(), "/loop1/x", O_RDONLY), 0);
  EXPECT_EQ(errno, ELOOP);
  UniqueFd self(OpenInRoot(root_fd_.get(), "/", O_PATH));
  EXPECT_EQ(Where(self.get()), "");
}

TEST_F(RootfsPathTest, DirectoriesAndFilesAreMadeWhereTheLinksLeadInside) {
  UniqueFd made(MakeDirectoriesInRoot(root_fd_.get(), "/abs/a/b", 0755));
  ASSERT_TRUE(made) << std::strerror(errno);
  EXPECT_EQ(Where(made.get()), outside_ + "/a/b");  // the same path, but under the root
  EXPECT_TRUE(std::filesystem::is_directory(root_ + outside_ + "/a/b"));
  UniqueFd file(MountTargetInRoot(root_fd_.get(), "/rel/x/hostname", /*directory=*/false));
  ASSERT_TRUE(file) << std::strerror(errno);
  EXPECT_TRUE(std::filesystem::is_regular_file(root_ + outside_ + "/x/hostname"));
  // A dangling link is followed, and what it names is made inside the root (as runc does).
  UniqueFd through(MountTargetInRoot(root_fd_.get(), "/dangling", /*directory=*/false));
  ASSERT_TRUE(through) << std::strerror(errno);
  EXPECT_TRUE(std::filesystem::is_regular_file(root_ + outside_ + "/nowhere/deeper"));
  UniqueFd dir(MountTargetInRoot(root_fd_.get(), "/up/up/vol", /*directory=*/true));
  ASSERT_TRUE(dir);
  EXPECT_EQ(Where(dir.get()), "/vol");
  EXPECT_THAT(Outside(), ::testing::ElementsAre("secret"));
}

TEST_F(RootfsPathTest, LoopsFilesInTheWayAndOverlongPathsAreErrors) {
  EXPECT_LT(MakeDirectoriesInRoot(root_fd_.get(), "/loop1/a", 0755), 0);
  EXPECT_EQ(errno, ELOOP);
  EXPECT_LT(MakeDirectoriesInRoot(root_fd_.get(), "/etc/passwd/a", 0755), 0);
  EXPECT_EQ(errno, ENOTDIR);
  const std::string deep(5000, 'd');
  EXPECT_LT(MakeDirectoriesInRoot(root_fd_.get(), deep.c_str(), 0755), 0);
  EXPECT_EQ(errno, ENAMETOOLONG);
  EXPECT_THAT(Outside(), ::testing::ElementsAre("secret"));
}

TEST_F(RootfsPathTest, ImageFilesAreReadOnlyWhenRegularAndSmall) {
  absl::StatusOr<std::string> passwd = ReadImageFile(root_, "/etc/passwd-link", 1024);
  ASSERT_TRUE(passwd.ok()) << passwd.status();
  EXPECT_EQ(*passwd, "root:x:0:0::/:/bin/sh\n");
  EXPECT_TRUE(absl::IsNotFound(ReadImageFile(root_, "/abs/secret", 1024).status()));
  ASSERT_EQ(::mkfifo((root_ + "/etc/group").c_str(), 0644), 0);
  absl::StatusOr<std::string> fifo = ReadImageFile(root_, "/etc/group", 1024);
  EXPECT_EQ(fifo.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(fifo.status().message(), HasSubstr("not a regular file"));
  absl::StatusOr<std::string> big = ReadImageFile(root_, "/etc/passwd", 4);
  EXPECT_EQ(big.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(big.status().message(), HasSubstr("more than the 4"));
}

// FreeBSD has no openat2: its OpenInRoot is this walk in user space, which must resolve every
// path as the kernel does here.
TEST_F(RootfsPathTest, TheUserSpaceWalkResolvesAsOpenat2Does) {
  for (const char* path : {"/up/up/../etc/passwd-link", "abs/secret", "/rel/secret", "/loop1/x",
                           "/", "/etc/../../etc/passwd", "etc", "/dangling", "/etc/passwd/x"}) {
    errno = 0;
    UniqueFd kernel(OpenInRoot(root_fd_.get(), path, O_RDONLY));
    const int kernel_errno = kernel ? 0 : errno;
    errno = 0;
    UniqueFd walked(WalkInRoot(root_fd_.get(), path, O_RDONLY, 0, nullptr, 0));
    const int walk_errno = walked ? 0 : errno;
    EXPECT_EQ(walk_errno, kernel_errno) << path;
    if (kernel && walked) EXPECT_EQ(Where(walked.get()), Where(kernel.get())) << path;
  }
}

TEST_F(RootfsPathTest, SecureJoinNamesThePathInsideTheRoot) {
  EXPECT_EQ(*SecureJoin(root_, "/up/up/etc/passwd-link"), root_ + "/etc/passwd");
  // The link to the node's directory is taken inside the root; the missing rest kept as is.
  EXPECT_EQ(*SecureJoin(root_, "/abs/a/b"), root_ + outside_ + "/a/b");
  EXPECT_EQ(*SecureJoin(root_, "/rel/x"), root_ + outside_ + "/x");
  absl::StatusOr<std::string> loop = SecureJoin(root_, "/loop1/x");
  EXPECT_FALSE(loop.ok());
  EXPECT_THAT(loop.status().message(), HasSubstr("Too many levels of symbolic links"));
  EXPECT_EQ(*SecureJoin(root_, "/abs/missing/../b"), root_ + outside_ + "/b");
  // A root not made yet: a lexical join, ".." stopping at the root.
  EXPECT_EQ(*SecureJoin("/nonexistent/root", "/a/../../b/./c"), "/nonexistent/root/b/c");
}

}  // namespace
}  // namespace stockade
