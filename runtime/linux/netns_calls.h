// Work done inside a pod's network namespace from the daemon: a short-lived thread enters it
// (setns affects only the calling thread), does one thing and ends. Sockets keep the namespace
// they were made in. Linux only.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/unique_fd.h"
#include "runtime/jail_backend.h"

namespace stockade {

// A connected TCP socket to 127.0.0.1:port, else [::1]:port, in the namespace bound at
// `netns_path` ("" for the daemon's own).
absl::StatusOr<UniqueFd> DialLoopbackInNetns(const std::string& netns_path, int port);

// The interfaces of the namespace at `netns_path` but lo, from /proc/thread-self/net/dev.
absl::StatusOr<std::vector<InterfaceCounters>> InterfaceCountersInNetns(
    const std::string& netns_path);

// /proc/net/dev's text, parsed; lo left out.
std::vector<InterfaceCounters> ParseNetDev(absl::string_view text);

}  // namespace stockade
