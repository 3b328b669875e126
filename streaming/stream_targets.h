// What the streaming server connects clients to: the runtime's exec sessions, containers'
// stdio and pods' ports. Implemented over the runtime core (cri/stream_targets.cc) and by
// fakes in tests.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"
#include "runtime/process_stream.h"
#include "streaming/stream_request.h"

namespace stockade {

class StreamTargets {
 public:
  virtual ~StreamTargets() = default;
  // Starts request.cmd in the running container (FailedPrecondition when it is not).
  virtual absl::StatusOr<std::unique_ptr<ProcessStream>> Exec(const StreamRequest& request) = 0;
  // Joins the running container's main-process stdio.
  virtual absl::StatusOr<std::unique_ptr<ProcessStream>> Attach(const StreamRequest& request) = 0;
  // A TCP connection to `port` on the pod's loopback, in its network namespace (jail).
  virtual absl::StatusOr<UniqueFd> DialPort(const std::string& pod_id, int32_t port) = 0;
};

}  // namespace stockade
