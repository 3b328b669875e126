// Runs a host tool (zfs(8), ifconfig(8), pfctl(8)...) and collects what it says: posix_spawn,
// so the calling daemon is never forked whole; stdin fed and stdout/stderr read at once
// through poll(2), so no pipe fills and stalls; no descriptor of the caller leaks into the tool.
// Portable (Linux and FreeBSD). The caller ignores SIGPIPE, as stockaded and the plugins do: a
// tool that exits before reading all its input must not kill it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace stockade {

struct CommandResult {
  int exit_code = -1;  // 128 + the signal when a signal ended it, as a shell reports it
  std::string out, err;
};

struct RunOptions {
  std::optional<std::vector<std::string>> env;  // replaces the environment ("K=V"); unset: ours
  absl::Duration timeout = absl::InfiniteDuration();  // then SIGKILL, and DeadlineExceeded
};

// `argv[0]` is looked up in PATH when it has no "/". NotFound when it cannot be run at all;
// otherwise the result, whatever the exit code.
absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         const std::string& input = "",
                                         const RunOptions& options = {});

// RunCommand, then FailedPrecondition unless it exited 0, with the command and its stderr.
absl::StatusOr<std::string> RunCommandOk(const std::vector<std::string>& argv,
                                         const std::string& input = "");

}  // namespace stockade
