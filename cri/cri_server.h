// The CRI gRPC server on its unix socket: creates the socket's directory, replaces a stale
// socket file, restricts the socket to mode 0660, and on shutdown finishes in-flight calls
// within a bound and removes the socket.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace grpc {
class Server;
class Service;
}  // namespace grpc

namespace stockade {

struct CriServerOptions {
  std::string socket_path;
  int max_recv_message_bytes = 16 * 1024 * 1024;
  int max_send_message_bytes = 16 * 1024 * 1024;
};

class CriServer {
 public:
  // `services` must outlive the server.
  static absl::StatusOr<std::unique_ptr<CriServer>> Start(
      const CriServerOptions& options, const std::vector<grpc::Service*>& services);
  ~CriServer();

  // Removes the socket file so that no new client can connect; existing connections stay.
  void RemoveSocket();

  // Stops accepting calls, lets in-flight ones finish until `deadline` (then cancels them),
  // and removes the socket file. Idempotent.
  void Shutdown(absl::Time deadline);

 private:
  CriServer(std::string socket_path, std::unique_ptr<grpc::Server> server);
  std::string socket_path_;
  std::unique_ptr<grpc::Server> server_;
  bool shut_down_ = false;
};

}  // namespace stockade
