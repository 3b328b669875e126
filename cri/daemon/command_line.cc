#include "cri/daemon/command_line.h"

#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace stockade {

std::string UsageText() {
  return "usage: stockaded [flags]            serve CRI on the configured socket\n"
         "       stockaded config default     print the complete default config\n"
         "       stockaded --version\n"
         "\n"
         "flags:\n"
         "  --config FILE      config file (default /etc/stockade/config.yaml if present)\n"
         "  --socket PATH      CRI socket, overrides `socket`\n"
         "  --state-dir DIR    persistent state, overrides `state_dir`\n"
         "  --run-dir DIR      run-time state, overrides `run_dir`\n"
         "  --log-level LEVEL  debug, info, warn or error, overrides `log.level`\n"
         "  --log-format FMT   text or json, overrides `log.format`\n";
}

absl::StatusOr<CommandLine> ParseCommandLine(const std::vector<std::string>& args) {
  CommandLine cl;
  const std::map<std::string, std::optional<std::string> CommandLine::*> valued = {
      {"--config", &CommandLine::config_path},  {"--socket", &CommandLine::socket_path},
      {"--state-dir", &CommandLine::state_dir}, {"--run-dir", &CommandLine::run_dir},
      {"--log-level", &CommandLine::log_level}, {"--log-format", &CommandLine::log_format},
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--version" || arg == "-v") {
      cl.action = CommandLine::Action::kPrintVersion;
      continue;
    }
    if (arg == "--help" || arg == "-h") {
      cl.action = CommandLine::Action::kPrintHelp;
      continue;
    }
    if (arg == "config") {
      if (i + 1 < args.size() && args[i + 1] == "default" && i + 2 == args.size()) {
        cl.action = CommandLine::Action::kPrintDefaultConfig;
        return cl;
      }
      return absl::InvalidArgumentError("the config subcommand takes one word: default");
    }
    std::string name = arg;
    std::optional<std::string> value;
    if (size_t eq = arg.find('='); absl::StartsWith(arg, "--") && eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    auto it = valued.find(name);
    if (it == valued.end()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown argument \"", arg, "\""));
    }
    if (!value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(absl::StrCat(name, " needs a value"));
      }
      value = args[++i];
    }
    if (value->empty()) return absl::InvalidArgumentError(absl::StrCat(name, " needs a value"));
    cl.*(it->second) = std::move(value);
  }
  return cl;
}

}  // namespace stockade
