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

TEST(RunCommand, LeaksNoDescriptorOfTheCaller) {
  // Not even one without close-on-exec (a std::fstream's): the tool gets its stdio alone.
  const int inheritable = ::fcntl(0, F_DUPFD, 100);
  ASSERT_GE(inheritable, 100);
  absl::StatusOr<CommandResult> r = RunCommand({"sh", "-c", "ls /proc/$$/fd"});
  ::close(inheritable);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "0\n1\n2\n");
}

TEST(RunCommand, TheDeadlineHoldsForAToolThatKeepsTalkingOrHangsAfterClosingItsOutput) {
  const absl::Time start = absl::Now();
  absl::StatusOr<CommandResult> r = RunCommand({"sh", "-c", "while :; do echo chatter; done"}, "",
                                               {std::nullopt, absl::Milliseconds(300)});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  r = RunCommand({"sh", "-c", "exec >&- 2>&-; sleep 30"}, "",
                 {std::nullopt, absl::Milliseconds(300)});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(20));  // neither waited for sleep 30
  // The environment given replaces ours.
  r = RunCommand({"/bin/sh", "-c", "echo \"$ONLY_THIS:$HOME\""}, "",
                 {std::vector<std::string>{"ONLY_THIS=yes"}, absl::Seconds(10)});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->out, "yes:\n");
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
