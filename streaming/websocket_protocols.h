// The Kubernetes protocols over WebSocket (RFC 6455, by Boost.Beast): remote command with
// channel-prefixed messages (channel.k8s.io, v4.channel.k8s.io, their base64 forms, and
// v5.channel.k8s.io with its close signal), and port forward (data channel 2i and error
// channel 2i+1 per requested port, each opened with the port as uint16 little-endian).
#pragma once

#include "absl/time/time.h"
#include "boost/asio/ip/tcp.hpp"
#include "boost/beast/http/message.hpp"
#include "boost/beast/http/string_body.hpp"
#include "streaming/stream_request.h"
#include "streaming/stream_targets.h"

namespace stockade {

struct WebSocketOptions {
  absl::Duration idle_timeout = absl::Hours(4);
};

void ServeWebSocket(boost::asio::ip::tcp::socket socket,
                    boost::beast::http::request<boost::beast::http::string_body> upgrade,
                    StreamRequest request, StreamTargets& targets, const WebSocketOptions& options);

}  // namespace stockade
