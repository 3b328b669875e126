// stockaded's command line: flags that override the config's main paths the way containerd's
// --address/--root/--state do, plus --version and the `config default` subcommand.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace stockade {

struct CommandLine {
  enum class Action { kServe, kPrintVersion, kPrintDefaultConfig, kPrintHelp };
  Action action = Action::kServe;
  std::optional<std::string> config_path;
  std::optional<std::string> socket_path;
  std::optional<std::string> state_dir;
  std::optional<std::string> run_dir;
  std::optional<std::string> log_level;
  std::optional<std::string> log_format;
};

// Accepts both "--flag value" and "--flag=value". InvalidArgument names the offending word.
absl::StatusOr<CommandLine> ParseCommandLine(const std::vector<std::string>& args);

std::string UsageText();

}  // namespace stockade
