// The signal an image's StopSignal names ("SIGTERM", "TERM", "sigusr1", "15", "SIGRTMIN+3"),
// as Docker and containerd parse it; checked when a container is created from the image, so a
// bad one is refused there and never meets StopContainer.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace stockade {

// SIGTERM for an empty name; InvalidArgument for what is no signal of this OS.
absl::StatusOr<int> ParseStopSignal(const std::string& name);

}  // namespace stockade
