// What an Exec, Attach or PortForward RPC asked for, kept under a single-use token until the
// client comes to the streaming server's URL: the server takes every flag from here, none
// from the URL.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace stockade {

enum class StreamKind { kExec, kAttach, kPortForward };

struct StreamRequest {
  StreamKind kind = StreamKind::kExec;
  std::string container_id;  // exec, attach
  std::string pod_id;        // port-forward
  std::vector<std::string> cmd;
  bool tty = false, stdin = false, stdout = false, stderr = false;
  std::vector<int32_t> ports;
};

// "exec", "attach", "portforward": the URL's first path segment.
const char* StreamKindPath(StreamKind kind);

}  // namespace stockade
