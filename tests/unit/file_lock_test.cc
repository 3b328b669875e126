// FileLock between processes: a second process waits for the holder, the file goes with the
// last holder, and a file nobody holds is removed by RemoveIfFree.
#include "common/file_lock.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace stockade {
namespace {

TEST(FileLock, AnotherProcessWaitsForTheHolderAndTheFileGoesWithTheLock) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/lock-x";
  int locked[2], release[2];
  ASSERT_EQ(::pipe(locked), 0);
  ASSERT_EQ(::pipe(release), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    absl::StatusOr<FileLock> lock = FileLock::Acquire(path);
    char c = lock.ok() ? 'y' : 'n';
    if (::write(locked[1], &c, 1) != 1) ::_exit(2);
    if (::read(release[0], &c, 1) != 1) ::_exit(3);
    ::_exit(lock.ok() ? 0 : 1);  // the lock object is not destroyed: a holder that dies
  }
  char c = 0;
  ASSERT_EQ(::read(locked[0], &c, 1), 1);
  ASSERT_EQ(c, 'y');
  std::atomic<bool> acquired{false};
  std::thread waiter([&] {
    absl::StatusOr<FileLock> lock = FileLock::Acquire(path);
    EXPECT_TRUE(lock.ok()) << lock.status();
    acquired = true;
    EXPECT_TRUE(std::filesystem::exists(path));
  });
  ::usleep(200 * 1000);
  EXPECT_FALSE(acquired.load()) << "took a lock another process holds";
  ASSERT_EQ(::write(release[1], "x", 1), 1);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  waiter.join();
  EXPECT_TRUE(acquired.load());
  EXPECT_FALSE(std::filesystem::exists(path));  // the last holder removed it
}

// Every holder removes the file when it lets go, so waiters keep meeting a file that is gone
// and a new one under the same name: still one holder at a time (the inode check).
TEST(FileLock, HoldersThatRemoveTheFileStillExcludeEachOther) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/lock-x";
  const std::string inside = dir.path() + "/inside";
  std::vector<pid_t> children;
  for (int c = 0; c < 3; ++c) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      for (int i = 0; i < 300; ++i) {
        absl::StatusOr<FileLock> lock = FileLock::Acquire(path);
        if (!lock.ok()) ::_exit(2);
        // Only the holder may make this file; a second holder finds it there.
        const int fd = ::open(inside.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) ::_exit(1);
        ::close(fd);
        ::usleep(50);
        ::unlink(inside.c_str());
      }
      ::_exit(0);
    }
    children.push_back(child);
  }
  for (pid_t child : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status)) << status;
    EXPECT_EQ(WEXITSTATUS(status), 0) << "1: two holders at once; 2: Acquire failed";
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(FileLock, RemoveIfFreeKeepsAHeldLock) {
  testing::TempDir dir;
  const std::string held_path = dir.path() + "/lock-held";
  const std::string free_path = dir.path() + "/lock-free";
  absl::StatusOr<FileLock> held = FileLock::Acquire(held_path);
  ASSERT_TRUE(held.ok());
  std::ofstream(free_path).put('x');
  FileLock::RemoveIfFree(held_path);
  FileLock::RemoveIfFree(free_path);
  EXPECT_TRUE(std::filesystem::exists(held_path));
  EXPECT_FALSE(std::filesystem::exists(free_path));
}

}  // namespace
}  // namespace stockade
