#include "streaming/remote_command_protocol.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"

namespace stockade {

std::optional<std::string> NegotiateProtocol(const std::vector<std::string>& offered_lines,
                                             const std::vector<std::string>& supported) {
  for (const std::string& line : offered_lines) {
    for (absl::string_view offered : absl::StrSplit(line, ',')) {
      offered = absl::StripAsciiWhitespace(offered);
      if (std::find(supported.begin(), supported.end(), offered) != supported.end()) {
        return std::string(offered);
      }
    }
  }
  return std::nullopt;
}

CommandProtocol CommandProtocolNamed(absl::string_view name) {
  CommandProtocol p;
  p.name = std::string(name);
  if (name == kRemoteCommandV5) p.version = 5;
  if (name == kRemoteCommandV4) p.version = 4;
  if (name == kRemoteCommandV3) p.version = 3;
  if (name == kRemoteCommandV2) p.version = 2;
  return p;
}

const std::vector<std::string>& SpdyCommandProtocols() {
  static const std::vector<std::string> protocols = {
      kRemoteCommandV5, kRemoteCommandV4, kRemoteCommandV3, kRemoteCommandV2, kRemoteCommandV1};
  return protocols;
}

std::string SuccessStatus(const CommandProtocol& protocol) {
  if (!protocol.json_status()) return "";
  return R"({"metadata":{},"status":"Success"})";
}

std::string ExitCodeStatus(const CommandProtocol& protocol, int exit_code,
                           const std::vector<std::string>& cmd) {
  if (exit_code == 0) return SuccessStatus(protocol);
  // containerd's wording, which kubectl shows.
  const std::string message =
      absl::StrCat("command terminated with non-zero exit code: error executing command [",
                   absl::StrJoin(cmd, " "), "], exit code ", exit_code);
  if (!protocol.json_status()) return message;
  nlohmann::json status = {
      {"metadata", nlohmann::json::object()},
      {"status", "Failure"},
      {"message", message},
      {"reason", "NonZeroExitCode"},
      {"details",
       {{"causes", {{{"reason", "ExitCode"}, {"message", std::to_string(exit_code)}}}}}}};
  return status.dump();
}

std::string FailureStatus(const CommandProtocol& protocol, absl::string_view message) {
  if (!protocol.json_status()) return std::string(message);
  nlohmann::json status = {{"metadata", nlohmann::json::object()},
                           {"status", "Failure"},
                           {"message", absl::StrCat("Internal error occurred: ", message)},
                           {"reason", "InternalError"},
                           {"details", {{"causes", {{{"message", std::string(message)}}}}}},
                           {"code", 500}};
  return status.dump();
}

std::vector<TerminalSize> ResizeDecoder::Feed(absl::string_view bytes) {
  pending_.append(bytes.data(), bytes.size());
  std::vector<TerminalSize> sizes;
  // A JSON decoder reads value after value; objects end at '}' (the message has no nesting).
  size_t end;
  while ((end = pending_.find('}')) != std::string::npos) {
    const std::string text = pending_.substr(0, end + 1);
    pending_.erase(0, end + 1);
    const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object()) continue;
    TerminalSize size;
    for (const auto& [key, value] : j.items()) {
      if (!value.is_number_unsigned()) continue;
      const uint64_t v = std::min<uint64_t>(value.get<uint64_t>(), 0xffff);
      if (absl::EqualsIgnoreCase(key, "width")) size.width = static_cast<uint16_t>(v);
      if (absl::EqualsIgnoreCase(key, "height")) size.height = static_cast<uint16_t>(v);
    }
    sizes.push_back(size);
  }
  if (pending_.size() > 4096) pending_.clear();  // no object is that long
  return sizes;
}

}  // namespace stockade
