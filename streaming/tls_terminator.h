// TLS for the streaming server (streaming.tls_cert_file/tls_key_file): each accepted
// connection's TLS is ended here, and its plaintext relayed to the HTTP session over a
// socketpair, so every protocol above (HTTP upgrade, SPDY, WebSocket) is the same code with
// and without TLS. The relay closes both sides when either ends.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/ssl/context.hpp"

namespace stockade {

// The server's TLS context from a PEM certificate chain and key; an error naming the file.
absl::StatusOr<std::unique_ptr<boost::asio::ssl::context>> MakeTlsContext(
    const std::string& cert_file, const std::string& key_file);

// Handshakes on `socket`, then calls `serve` with the plaintext end (a socket that reads and
// writes as a TCP one does) while bytes are relayed.
void TerminateTls(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context& context,
                  std::function<void(boost::asio::ip::tcp::socket)> serve);

}  // namespace stockade
