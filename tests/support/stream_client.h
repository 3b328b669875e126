// Test clients of the streaming server, written here (client-go is not in Debian): a SPDY/3.1
// client on the server's own framing code, a WebSocket client on Beast, a raw HTTP exchange
// for the refusals, and the remote-command and port-forward dances on top.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/unique_fd.h"
#include "streaming/spdy_frame.h"

namespace stockade::testing {

struct ParsedUrl {
  std::string host;
  int port = 0;
  std::string path;
};
ParsedUrl ParseUrl(const std::string& url);

// A TCP connection to 127.0.0.1-style host:port; invalid on failure.
UniqueFd DialTcp(const std::string& host, int port);

struct HttpReply {
  int status = 0;
  std::multimap<std::string, std::string> headers;  // names lowercased
  std::string body;
};
// Sends `request` (a whole HTTP/1.1 request) and reads the reply head (and a short body).
HttpReply RawHttp(const std::string& host, int port, const std::string& request);

class SpdyClient {
 public:
  // Upgrades `url` with POST, offering `protocols` (one header line each).
  static std::unique_ptr<SpdyClient> Connect(const std::string& url,
                                             const std::vector<std::string>& protocols,
                                             HttpReply* reply);
  uint32_t Open(const spdy::Headers& headers, bool fin = false);
  void Send(uint32_t id, const std::string& data, bool fin = false);
  void SendRaw(const std::string& bytes);
  // Reads frames until `done()` or the timeout (false then).
  bool PumpUntil(const std::function<bool()>& done, absl::Duration timeout);
  void Close();

  std::map<uint32_t, std::string> data;
  std::set<uint32_t> replied, finished, reset;  // SYN_REPLY seen; FIN seen; RST seen
  std::vector<uint32_t> pings;
  bool goaway = false, eof = false;

 private:
  UniqueFd fd_;
  uint32_t next_id_ = 1;
  spdy::HeaderCompressor compressor_;
  spdy::HeaderDecompressor decompressor_;
  spdy::FrameReader reader_;
};

struct CommandResult {
  bool completed = false;  // every output stream and the error stream ended
  std::string out, err, error;
  std::string protocol;  // negotiated
};

struct CommandOptions {
  bool tty = false, stdin = false, stdout = true, stderr = true;
  std::string input;                          // sent on stdin after set-up
  bool close_stdin = true;                    // then FIN
  std::optional<std::pair<int, int>> resize;  // (width, height), sent after set-up
  std::vector<std::string> protocols = {"v4.channel.k8s.io", "v3.channel.k8s.io",
                                        "v2.channel.k8s.io", "channel.k8s.io"};
  absl::Duration timeout = absl::Seconds(20);
  // Until it returns true, with what came so far (attach tests stop early).
  std::function<bool(const CommandResult&)> until;
};

// The remote-command client as client-go's SPDY executor runs it.
CommandResult RunSpdyCommand(const std::string& url, const CommandOptions& options);
// As client-go's WebSocket executor (v5.channel.k8s.io), or another subprotocol.
CommandResult RunWebSocketCommand(const std::string& url, const std::string& subprotocol,
                                  const CommandOptions& options);

// One forwarded connection over SPDY: sends `payload`, FINs, reads until the data stream ends.
struct ForwardResult {
  std::string data, error;
  bool completed = false;
};
ForwardResult SpdyForward(SpdyClient& client, int port, int request_id, const std::string& payload,
                          absl::Duration timeout);
// Port forward over WebSocket (v4.channel.k8s.io) for the URL's first port.
ForwardResult WebSocketForward(const std::string& url, const std::string& payload,
                               absl::Duration timeout);

// A plaintext port on 127.0.0.1 whose connections are relayed to a TLS server (its certificate
// not verified), so the clients above test a TLS streaming server unchanged.
class TlsClientRelay {
 public:
  static std::unique_ptr<TlsClientRelay> Start(const std::string& host, int port);
  ~TlsClientRelay();
  int port() const { return port_; }
  // `url` (https://host:port/path) through the relay: http://127.0.0.1:<relay>/path.
  std::string Through(const std::string& url) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace stockade::testing
