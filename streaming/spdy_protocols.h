// The Kubernetes protocols over a SPDY connection: remote command (exec, attach; the client
// opens error, stdin, stdout, stderr and resize streams, matched by their streamtype header)
// and port forward (portforward.k8s.io: an error and a data stream per forwarded connection,
// paired by requestid).
#pragma once

#include <memory>

#include "absl/time/time.h"
#include "streaming/remote_command_protocol.h"
#include "streaming/spdy_connection.h"
#include "streaming/stream_request.h"
#include "streaming/stream_targets.h"

namespace stockade {

void ServeSpdyRemoteCommand(std::shared_ptr<SpdyConnection> connection, StreamRequest request,
                            CommandProtocol protocol, StreamTargets& targets,
                            absl::Duration stream_creation_timeout);

void ServeSpdyPortForward(std::shared_ptr<SpdyConnection> connection, StreamRequest request,
                          StreamTargets& targets, absl::Duration stream_creation_timeout);

}  // namespace stockade
