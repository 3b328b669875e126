// stockaded's life: take the state dir, open the store, start the metrics and CRI listeners,
// serve until SIGTERM or SIGINT, then drain and clean up.
#pragma once

#include "runtime/config/config.h"

namespace stockade {

// Blocks the termination signals in the calling thread (call first, before any thread starts,
// so every later thread inherits the mask and only the waiting thread receives them).
void BlockTerminationSignals();

// Runs the daemon; returns the process exit code (0 after a clean shutdown).
int RunDaemon(const Config& config, const std::string& version);

}  // namespace stockade
