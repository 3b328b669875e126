// What the pod shim's server (shim_server.cc, the same on every OS) asks of the OS: a
// container's process from the start request's spec, an exec session in a running container,
// a terminal of the container's own, and the end of the pod's namespaces (Linux) or jail
// (FreeBSD). Linux: shim_platform_linux.cc; FreeBSD: with its backend.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"
#include "nlohmann/json.hpp"

namespace stockade {

// A process's stdio as the server made it; -1: /dev/null.
struct ShimStdio {
  int in = -1, out = -1, err = -1;
  // A container with a terminal: its init makes the terminal in the container (after its root
  // is in place) and sends the master over `console_socket`; in, out and err are unused.
  bool tty = false;
  int console_socket = -1;
};

// An exec session: a relay process (its own process group) whose exit status is the command's.
struct ShimExec {
  pid_t pid = -1;
  UniqueFd report;  // EOF once the command exec'd; else why it never ran (ExecFailure)
};

struct ShimTerminal {
  UniqueFd master, slave;
};

class ShimPlatform {
 public:
  virtual ~ShimPlatform() = default;
  // Starts a container's init as `spec` (the daemon's JSON) says; returns once it has exec'd.
  // `running_pid(id)`: the PID of a running container of this pod, -1 if none (for a spec
  // that shares another container's PID space). InvalidArgument for a bad spec.
  virtual absl::StatusOr<pid_t> StartContainer(
      const std::string& id, const nlohmann::json& spec, const ShimStdio& stdio,
      const std::function<pid_t(const std::string&)>& running_pid) = 0;
  // Starts an exec session in the container whose init is `container_pid` (a child of ours).
  // `container_scopes`: what the start request gave as the container's resource scope files.
  virtual absl::StatusOr<ShimExec> StartExec(const nlohmann::json& spec, pid_t container_pid,
                                             const std::vector<std::string>& container_scopes,
                                             const ShimStdio& stdio) = 0;
  // Once the relay ended: why the command never ran, or nullopt when it did.
  virtual std::optional<std::string> ExecFailure(int report_fd) = 0;
  // A new terminal of the container whose init is `container_pid`.
  virtual absl::StatusOr<ShimTerminal> OpenTerminal(pid_t container_pid) = 0;
  // A container's init ended (and was reaped): what the platform made for it goes.
  virtual void ContainerExited(const std::string& id) = 0;
  // Ends the pod's namespaces or jail (every container has ended by then).
  virtual absl::Status DestroyPod() = 0;
  // Consumes what made the wake descriptor readable (a signalfd's siginfo, a kqueue's events);
  // the server then reaps every ended child.
  virtual void DrainWakeups(int wake_fd) = 0;
};

}  // namespace stockade
