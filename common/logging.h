// Structured logging for every stockade binary that links the core: one line per event on
// stderr, as `time level msg key=value ...` text or as one JSON object, behind spdlog.
#pragma once

#include <initializer_list>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace stockade {

enum class LogLevel { kDebug, kInfo, kWarn, kError };
// kHclog: hashicorp/go-hclog's JSON lines ("@level", "@message", "@timestamp", "@module"),
// which a go-plugin host (Nomad) reads from a plugin's stderr; not offered in config files.
enum class LogFormat { kText, kJson, kHclog };

struct LogField {
  absl::string_view key;
  std::string value;
};

absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name);
absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view name);
absl::string_view LogLevelName(LogLevel level);
absl::string_view LogFormatName(LogFormat format);

// Sets the threshold and format of all later lines. Safe to call again (e.g. after config load).
void ConfigureLogging(LogLevel level, LogFormat format);
bool LogEnabled(LogLevel level);
LogLevel CurrentLogLevel();
LogFormat CurrentLogFormat();

void Log(LogLevel level, absl::string_view message, std::initializer_list<LogField> fields = {});

// Writes lines another stockade process formatted with this process's level and format (a
// helper's stderr), one log line each, to wherever this process's lines go.
void LogFormattedLines(absl::string_view lines);

// Also writes every line to `path` (appending): a plugin's stderr may be a dead pipe after its
// host restarted. Replaces an earlier file.
absl::Status AddLogFile(const std::string& path);

// Formats one line without writing it; exposed for tests.
std::string FormatLogLine(LogFormat format, LogLevel level, absl::string_view message,
                          std::initializer_list<LogField> fields);

}  // namespace stockade
