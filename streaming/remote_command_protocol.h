// The Kubernetes remote-command and port-forward protocols' plain parts: version negotiation,
// the status a v4 client reads on the error stream, terminal resize messages. No I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace stockade {

inline constexpr char kRemoteCommandV1[] = "channel.k8s.io";
inline constexpr char kRemoteCommandV2[] = "v2.channel.k8s.io";
inline constexpr char kRemoteCommandV3[] = "v3.channel.k8s.io";
inline constexpr char kRemoteCommandV4[] = "v4.channel.k8s.io";
inline constexpr char kRemoteCommandV5[] = "v5.channel.k8s.io";
inline constexpr char kPortForwardProtocol[] = "portforward.k8s.io";

// What a negotiated remote-command version can do.
struct CommandProtocol {
  std::string name;
  int version = 1;  // 1..5; over SPDY, 5 behaves as 4
  bool json_status() const { return version >= 4; }
  bool resize() const { return version >= 3; }
};

// The first value the client listed (header lines merged, split on commas, trimmed) that is
// in `supported`; nullopt when none is.
std::optional<std::string> NegotiateProtocol(const std::vector<std::string>& offered_lines,
                                             const std::vector<std::string>& supported);
CommandProtocol CommandProtocolNamed(absl::string_view name);
// The remote-command protocols spoken over SPDY, newest first.
const std::vector<std::string>& SpdyCommandProtocols();

// What the error stream carries when the session ends, for `protocol`: a v4 Status JSON
// (Success; NonZeroExitCode with an ExitCode cause; InternalError), or the plain text older
// versions read (nothing for success).
std::string SuccessStatus(const CommandProtocol& protocol);
std::string ExitCodeStatus(const CommandProtocol& protocol, int exit_code,
                           const std::vector<std::string>& cmd);
std::string FailureStatus(const CommandProtocol& protocol, absl::string_view message);

struct TerminalSize {
  uint16_t width = 0, height = 0;
};

// The resize stream: newline-delimited JSON objects {"Width":W,"Height":H} (keys matched
// without regard to case), in chunks cut anywhere.
class ResizeDecoder {
 public:
  std::vector<TerminalSize> Feed(absl::string_view bytes);

 private:
  std::string pending_;
};

}  // namespace stockade
