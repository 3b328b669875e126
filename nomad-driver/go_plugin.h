// hashicorp/go-plugin's side of the plugin process, as Nomad's plugin loader drives it: the
// magic cookie, the protocol version negotiation, the socket's place, and the handshake line
// printed on stdout once the gRPC server listens. Plain logic; main.cc applies it.
#pragma once

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace stockade::nomad {

inline constexpr absl::string_view kMagicCookieKey = "NOMAD_PLUGIN_MAGIC_COOKIE";
inline constexpr absl::string_view kMagicCookieValue =
    "e4327c2e01eabfd75a8a67adb114fb34a757d57eee7728d857a8cec6e91a7255";
// go-plugin's core protocol, and the Nomad plugin protocol (app protocol) this plugin speaks.
inline constexpr int kCoreProtocolVersion = 1;
inline constexpr int kAppProtocolVersion = 2;

struct PluginLaunch {
  int app_protocol = kAppProtocolVersion;
  std::string socket_dir;    // PLUGIN_UNIX_SOCKET_DIR, or empty for a new temporary dir
  std::string socket_group;  // PLUGIN_UNIX_SOCKET_GROUP: the socket's group, when set
};

// Checks the environment the host started the plugin with. A missing or wrong cookie is
// FailedPrecondition with the message to print: the binary is a plugin, not a command.
absl::StatusOr<PluginLaunch> CheckPluginEnvironment(const std::map<std::string, std::string>& env);

// The line go-plugin's client waits for: "1|2|unix|/path/plugin.sock|grpc".
std::string HandshakeLine(int app_protocol, const std::string& socket_path);

}  // namespace stockade::nomad
