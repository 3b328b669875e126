#include "nomad-driver/go_plugin.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace stockade::nomad {
namespace {

std::string Get(const std::map<std::string, std::string>& env, absl::string_view key) {
  auto it = env.find(std::string(key));
  return it == env.end() ? "" : it->second;
}

}  // namespace

absl::StatusOr<PluginLaunch> CheckPluginEnvironment(const std::map<std::string, std::string>& env) {
  if (Get(env, kMagicCookieKey) != kMagicCookieValue) {
    return absl::FailedPreconditionError(
        "This binary is a plugin. These are not meant to be executed directly.\n"
        "Please execute the program that consumes these plugins, which will\n"
        "load any plugins automatically (nomad-driver-stockade is loaded by a Nomad client\n"
        "from its plugin_dir).");
  }
  PluginLaunch launch;
  const std::string versions = Get(env, "PLUGIN_PROTOCOL_VERSIONS");
  if (!versions.empty()) {
    // A comma list of what the host speaks; go-plugin picks the highest both speak.
    int best = 0;
    for (absl::string_view item : absl::StrSplit(versions, ',', absl::SkipWhitespace())) {
      int v = 0;
      if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(item), &v)) {
        return absl::InvalidArgumentError(
            absl::StrCat("PLUGIN_PROTOCOL_VERSIONS \"", versions, "\" is not a list of numbers"));
      }
      if (v == kAppProtocolVersion) best = v;
    }
    if (best == 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the host speaks plugin protocol versions ", versions, "; nomad-driver-stockade speaks ",
          kAppProtocolVersion, " (Nomad 0.9 and later)"));
    }
    launch.app_protocol = best;
  }
  launch.socket_dir = Get(env, "PLUGIN_UNIX_SOCKET_DIR");
  launch.socket_group = Get(env, "PLUGIN_UNIX_SOCKET_GROUP");
  return launch;
}

std::string HandshakeLine(int app_protocol, const std::string& socket_path) {
  return absl::StrCat(kCoreProtocolVersion, "|", app_protocol, "|unix|", socket_path, "|grpc\n");
}

}  // namespace stockade::nomad
