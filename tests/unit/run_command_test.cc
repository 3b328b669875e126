// RunCommand runs real host tools here: exit codes, both output streams, input larger than a
// pipe holds, and no descriptor of ours reaching the tool.
#include "common/run_command.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stockade {
namespace {

using ::testing::HasSubstr;

TEST(RunCommand, ReportsExitCodeAndBothStreams) {
  absl::StatusOr<CommandResult> r = RunCommand({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  r = RunCommand({"sh", "-c", "kill -TERM $$"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 128 + SIGTERM);
}

TEST(RunCommand, FeedsInputWhileReadingOutputWithoutStalling) {
  // 4 MiB through cat: far more than a pipe buffers, so writing it all before reading would hang.
  const std::string input(4 << 20, 'x');
  absl::StatusOr<CommandResult> r = RunCommand({"cat"}, input);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->out.size(), input.size());
  // A tool that stops reading early (EPIPE for us, which stockaded ignores) still reports.
  ::signal(SIGPIPE, SIG_IGN);
  r = RunCommand({"head", "-c", "1"}, input);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->out, "x");
}

// Pipes this process holds without close-on-exec (handed down by whatever started the test):
// every spawned tool gets those, by POSIX's rule, and they are not RunCommand's.
int InheritablePipes() {
  int n = 0;
  for (int fd = 3; fd < 1024; ++fd) {
    char link[64];
    const ssize_t len =
        ::readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), link, sizeof(link));
    if (len > 0 && std::string_view(link, static_cast<size_t>(len)).starts_with("pipe:") &&
        (::fcntl(fd, F_GETFD) & FD_CLOEXEC) == 0) {
      ++n;
    }
  }
  return n;
}

TEST(RunCommand, LeaksNoDescriptorOfTheCaller) {
  const int fd = ::fcntl(0, F_DUPFD_CLOEXEC, 100);  // as every descriptor of stockaded is
  ASSERT_GE(fd, 100);
  absl::StatusOr<CommandResult> r = RunCommand({"sh", "-c", "ls -l /proc/$$/fd"});
  ::close(fd);
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(r->out, HasSubstr(" 0 -> pipe:"));
  EXPECT_THAT(r->out, ::testing::Not(HasSubstr(" 100 -> ")));
  // The shell's stdio are the only pipes of ours it holds: no other end of them leaked.
  int pipes = 0;
  for (size_t at = 0; (at = r->out.find("-> pipe:", at)) != std::string::npos; ++at) ++pipes;
  EXPECT_EQ(pipes, 3 + InheritablePipes()) << r->out;
}

TEST(RunCommand, AMissingToolIsNotFoundAndAFailureNamesTheCommand) {
  absl::StatusOr<CommandResult> r = RunCommand({"stockade-no-such-tool"});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(r.status().message(), HasSubstr("stockade-no-such-tool"));
  absl::StatusOr<std::string> out = RunCommandOk({"sh", "-c", "echo 'no such pool' >&2; exit 1"});
  EXPECT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(out.status().message(), HasSubstr("\"sh -c"));
  EXPECT_THAT(out.status().message(), HasSubstr("exited with 1: no such pool"));
  EXPECT_EQ(*RunCommandOk({"echo", "fine"}), "fine\n");
}

}  // namespace
}  // namespace stockade
