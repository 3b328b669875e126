// stockaded: the CRI runtime daemon. Exit codes: 0 clean stop, 1 failure while running,
// 2 bad command line or config.
#include <sys/stat.h>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "cri/daemon/command_line.h"
#include "cri/daemon/daemon.h"
#include "runtime/config/config.h"

#ifndef STOCKADE_VERSION
#define STOCKADE_VERSION "unknown"
#endif

namespace {

constexpr int kUsageError = 2;

int UsageError(absl::string_view message) {
  std::cerr << "stockaded: " << message << "\n";
  return kUsageError;
}

absl::StatusOr<stockade::Config> LoadConfig(const stockade::CommandLine& cl) {
  if (cl.config_path) return stockade::LoadConfigFile(*cl.config_path);
  const std::string fallback = stockade::DefaultConfigPath();
  struct stat st;
  if (::stat(fallback.c_str(), &st) == 0) return stockade::LoadConfigFile(fallback);
  return stockade::DefaultConfig();
}

absl::Status ApplyOverrides(const stockade::CommandLine& cl, stockade::Config& config) {
  auto absolute = [](const char* flag, const std::optional<std::string>& v,
                     std::string& out) -> absl::Status {
    if (!v) return absl::OkStatus();
    if ((*v)[0] != '/') {
      return absl::InvalidArgumentError(std::string(flag) + " must be an absolute path, got \"" +
                                        *v + "\"");
    }
    out = *v;
    return absl::OkStatus();
  };
  if (auto s = absolute("--socket", cl.socket_path, config.socket_path); !s.ok()) return s;
  if (cl.socket_path && cl.socket_path->size() > 107) {
    return absl::InvalidArgumentError("--socket path is longer than a unix socket allows (107)");
  }
  if (auto s = absolute("--state-dir", cl.state_dir, config.state_dir); !s.ok()) return s;
  if (auto s = absolute("--run-dir", cl.run_dir, config.run_dir); !s.ok()) return s;
  if (cl.log_level) {
    absl::StatusOr<stockade::LogLevel> level = stockade::ParseLogLevel(*cl.log_level);
    if (!level.ok()) return absl::InvalidArgumentError("--log-level: " + level.status().ToString());
    config.log.level = *level;
  }
  if (cl.log_format) {
    absl::StatusOr<stockade::LogFormat> format = stockade::ParseLogFormat(*cl.log_format);
    if (!format.ok()) {
      return absl::InvalidArgumentError("--log-format: " + format.status().ToString());
    }
    config.log.format = *format;
  }
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  stockade::BlockTerminationSignals();
  absl::StatusOr<stockade::CommandLine> cl =
      stockade::ParseCommandLine(std::vector<std::string>(argv + 1, argv + argc));
  if (!cl.ok())
    return UsageError(std::string(cl.status().message()) + "\n" + stockade::UsageText());
  switch (cl->action) {
    case stockade::CommandLine::Action::kPrintVersion:
      std::cout << "stockaded " << STOCKADE_VERSION << " (CRI runtime.v1)\n";
      return 0;
    case stockade::CommandLine::Action::kPrintHelp:
      std::cout << stockade::UsageText();
      return 0;
    case stockade::CommandLine::Action::kPrintDefaultConfig:
      std::cout << stockade::RenderConfigYaml(stockade::DefaultConfig());
      return 0;
    case stockade::CommandLine::Action::kServe:
      break;
  }
  absl::StatusOr<stockade::Config> config = LoadConfig(*cl);
  if (!config.ok()) return UsageError(config.status().message());
  if (absl::Status s = ApplyOverrides(*cl, *config); !s.ok()) return UsageError(s.message());
  stockade::ConfigureLogging(config->log.level, config->log.format);
  const int code = stockade::RunDaemon(*config, STOCKADE_VERSION);
  // Exit without running static destructors: listener threads that were left running at
  // shutdown must not race with them. Everything of ours is closed and flushed by now.
  std::fflush(nullptr);
  std::_Exit(code);
}
