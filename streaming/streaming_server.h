// The CRI streaming server behind the URLs that Exec, Attach and PortForward return: HTTP on
// its own port, upgraded to SPDY/3.1 (kubelet, crictl, critest) or WebSocket, serving the
// Kubernetes remote-command and port-forward protocols. Asio and Beast stay in the .cc files.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "streaming/stream_request.h"
#include "streaming/stream_targets.h"

namespace stockade {

struct StreamingServerOptions {
  std::string address = "127.0.0.1:0";           // host:port; port 0 picks a free one
  absl::Duration idle_timeout = absl::Hours(4);  // containerd's stream_idle_timeout
  absl::Duration token_ttl = absl::Minutes(1);
  absl::Duration stream_creation_timeout = absl::Seconds(30);
  // Both set: the server speaks TLS only (https:// URLs), with this PEM chain and key.
  std::string tls_cert_file, tls_key_file;
};

class StreamingServer {
 public:
  static absl::StatusOr<std::unique_ptr<StreamingServer>> Start(
      const StreamingServerOptions& options, StreamTargets& targets);
  ~StreamingServer();  // closes the listener and every connection

  // The URL for one use of `request`: http://host:port/<kind>/<token>.
  absl::StatusOr<std::string> Register(StreamRequest request);
  // http://host:port
  const std::string& base_url() const;

  class Impl;

 private:
  explicit StreamingServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace stockade
