// An exec session in a running container, started by the pod's shim (never from the daemon's
// address space): a relay process, leader of a process group of its own, enters the
// container's cgroup and namespaces through descriptors the shim opened from the container's
// init (its own child, so the PID cannot have been recycled), forks the command (a PID
// namespace applies to children) and exits with the command's status. Killing the group ends
// the command and anything it left in the background. Both stay undumpable until exec.
// Linux only.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"
#include "runtime/linux/process_identity.h"

namespace stockade {

struct ExecSessionSpec {
  std::vector<std::string> argv, env;
  std::string cwd = "/";
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<uint32_t> additional_gids;
  std::vector<int> capabilities;
  bool no_new_privs = true;
  std::vector<uint64_t> seccomp_filter;  // struct sock_filter[]; empty: none
  std::vector<std::string> cgroup_procs_files;
  pid_t container_pid = -1;  // the container's init, a child of the caller
  int stdin_fd = -1;         // -1: /dev/null
  int stdout_fd = -1, stderr_fd = -1;
  // stdin_fd is a terminal: the relay leads a session with it as the controlling terminal, the
  // command is in its foreground process group.
  bool tty = false;
};

struct ExecRelay {
  pid_t pid = -1;   // the relay: its exit status is the command's; also its process group
  UniqueFd report;  // read end: a failure before the command's exec, else EOF
  bool born_in_cgroup = false;  // made in the container's cgroup (v2), not moved there
};

// Starts the relay; returns once it is forked (the command may still be starting).
absl::StatusOr<ExecRelay> StartExecSession(const ExecSessionSpec& spec);

// After the relay ended: why the command never ran ("exec the command: No such file or
// directory"), or nullopt when it did.
std::optional<std::string> ExecSessionFailure(int report_fd);

}  // namespace stockade
