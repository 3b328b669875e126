#include "common/logging.h"

#include <atomic>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "spdlog/sinks/basic_file_sink.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace stockade {
namespace {

std::atomic<LogLevel> g_level{LogLevel::kInfo};
std::atomic<LogFormat> g_format{LogFormat::kText};

spdlog::logger& Sink() {
  // The line is formatted by us; spdlog only serialises writers and flushes.
  static const std::shared_ptr<spdlog::logger> logger = [] {
    auto l = std::make_shared<spdlog::logger>("stockade",
                                              std::make_shared<spdlog::sinks::stderr_sink_mt>());
    l->set_pattern("%v");
    l->set_level(spdlog::level::trace);
    l->flush_on(spdlog::level::trace);
    return l;
  }();
  return *logger;
}

bool NeedsQuoting(absl::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
      return true;
    }
  }
  return false;
}

void AppendTextValue(std::string& out, absl::string_view v) {
  if (!NeedsQuoting(v)) {
    out.append(v.data(), v.size());
    return;
  }
  // JSON string escaping gives an unambiguous, single-line quoted form.
  out +=
      nlohmann::json(std::string(v)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name) {
  if (name == "debug") return LogLevel::kDebug;
  if (name == "info") return LogLevel::kInfo;
  if (name == "warn" || name == "warning") return LogLevel::kWarn;
  if (name == "error") return LogLevel::kError;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown log level \"", name, "\"; use debug, info, warn or error"));
}

absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view name) {
  if (name == "text") return LogFormat::kText;
  if (name == "json") return LogFormat::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown log format \"", name, "\"; use text or json"));
}

absl::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

absl::string_view LogFormatName(LogFormat format) {
  switch (format) {
    case LogFormat::kJson:
      return "json";
    case LogFormat::kHclog:
      return "hclog";
    case LogFormat::kText:
      return "text";
  }
  return "text";
}

absl::Status AddLogFile(const std::string& path) {
  try {
    auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, false);
    auto& sinks = Sink().sinks();
    if (sinks.size() > 1) sinks.resize(1);
    sinks.push_back(std::move(file));
  } catch (const spdlog::spdlog_ex& e) {
    return absl::FailedPreconditionError(absl::StrCat("open the log file ", path, ": ", e.what()));
  }
  return absl::OkStatus();
}

void ConfigureLogging(LogLevel level, LogFormat format) {
  g_level.store(level);
  g_format.store(format);
}

bool LogEnabled(LogLevel level) { return level >= g_level.load(std::memory_order_relaxed); }

LogLevel CurrentLogLevel() { return g_level.load(); }
LogFormat CurrentLogFormat() { return g_format.load(); }

std::string FormatLogLine(LogFormat format, LogLevel level, absl::string_view message,
                          std::initializer_list<LogField> fields) {
  const std::string time =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::Now(), absl::UTCTimeZone());
  if (format == LogFormat::kHclog) {
    // go-hclog's time layout "2006-01-02T15:04:05.000000Z07:00", always UTC here.
    nlohmann::ordered_json line;
    line["@level"] = LogLevelName(level);
    line["@message"] = message;
    line["@module"] = "stockade";
    line["@timestamp"] = time;
    for (const LogField& f : fields) line[std::string(f.key)] = f.value;
    return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  if (format == LogFormat::kJson) {
    nlohmann::ordered_json line;
    line["time"] = time;
    line["level"] = LogLevelName(level);
    line["msg"] = message;
    for (const LogField& f : fields) line[std::string(f.key)] = f.value;
    return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  std::string out = absl::StrCat(time, " ", LogLevelName(level), " ");
  AppendTextValue(out, message);
  for (const LogField& f : fields) {
    absl::StrAppend(&out, " ", f.key, "=");
    AppendTextValue(out, f.value);
  }
  return out;
}

void Log(LogLevel level, absl::string_view message, std::initializer_list<LogField> fields) {
  if (!LogEnabled(level)) return;
  Sink().info(FormatLogLine(g_format.load(std::memory_order_relaxed), level, message, fields));
}

void LogFormattedLines(absl::string_view lines) {
  while (!lines.empty()) {
    const size_t end = lines.find('\n');
    absl::string_view line = lines.substr(0, end);
    if (!line.empty()) Sink().info(std::string(line));
    if (end == absl::string_view::npos) break;
    lines.remove_prefix(end + 1);
  }
}

}  // namespace stockade
