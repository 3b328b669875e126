// A container's (or an exec session's) process on FreeBSD, as the pod's shim starts it: forked,
// given its stdio, made a session leader, moved into the container's jail with jail_attach(2),
// then the container's directory, groups, gid and uid, then execve. Failures in the child come
// back with the step that failed. And the shim's reaper: procctl(PROC_REAP_ACQUIRE) so that
// orphans of the containers are its children, with kqueue watching exits (EVFILT_PROC) and
// SIGCHLD (EVFILT_SIGNAL). FreeBSD only (jail_process_freebsd.cc).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace stockade::freebsd {

struct JailProcessSpec {
  int jid = -1;                   // the container's jail, made and mounted
  std::string jail_name;          // checked against jid before the fork
  std::vector<std::string> argv;  // argv[0] found on the env's PATH inside the jail if relative
  std::vector<std::string> env;
  std::string cwd = "/";
  uint32_t uid = 0, gid = 0;
  std::vector<uint32_t> additional_gids;
  int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1;  // -1: /dev/null
  // stdin is a terminal: the process leads a session with it as the controlling terminal.
  bool tty = false;
};

// Returns once the process has exec'd; nothing is left running on error.
absl::StatusOr<pid_t> StartJailProcess(const JailProcessSpec& spec);

class ProcessReaper {
 public:
  // Makes this process the reaper of its descendants and opens the kqueue. SIGCHLD must be
  // blocked by the caller (kqueue sees it all the same).
  static absl::StatusOr<ProcessReaper> Create();
  // Makes fd() readable at `pid`'s exit (a child of ours: every descendant is, once
  // reparented; orphans are seen through SIGCHLD).
  absl::Status Watch(pid_t pid);
  // Takes the pending events off the queue (the caller polls fd() and reaps with waitpid).
  void Drain();
  int fd() const { return kq_.get(); }

 private:
  explicit ProcessReaper(UniqueFd kq) : kq_(std::move(kq)) {}
  UniqueFd kq_;
};

}  // namespace stockade::freebsd
