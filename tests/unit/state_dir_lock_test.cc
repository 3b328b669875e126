#include "common/state_dir_lock.h"

#include <sys/wait.h>
#include <unistd.h>

#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace stockade {
namespace {

TEST(StateDirLock, SecondHolderInAnotherProcessIsRefusedWithOurPid) {
  testing::TempDir dir;
  absl::StatusOr<StateDirLock> lock = StateDirLock::Acquire(dir.path());
  ASSERT_TRUE(lock.ok()) << lock.status();
  pid_t child = fork();
  if (child == 0) {
    absl::StatusOr<StateDirLock> second = StateDirLock::Acquire(dir.path());
    bool refused =
        second.status().code() == absl::StatusCode::kFailedPrecondition &&
        second.status().message().find(std::to_string(getppid())) != absl::string_view::npos;
    _exit(refused ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(StateDirLock, ReleasedWhenTheHolderGoes) {
  testing::TempDir dir;
  { ASSERT_TRUE(StateDirLock::Acquire(dir.path()).ok()); }
  EXPECT_TRUE(StateDirLock::Acquire(dir.path()).ok());
}

TEST(StateDirLock, MissingDirectoryIsAnError) {
  EXPECT_FALSE(StateDirLock::Acquire("/nonexistent/dir").ok());
}

}  // namespace
}  // namespace stockade
