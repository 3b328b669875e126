// The daemon's side of a pod's stockade-shim: launches it detached (it must outlive
// stockaded), reconnects to it after a restart, and sends it one JSON line per request.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/unique_fd.h"
#include "runtime/jail_spec.h"

namespace stockade {

struct ShimLaunch {
  std::string shim_path;  // the stockade-shim binary
  std::string pod_id;
  std::string dir;  // the pod's run dir: shim.sock, <container>.exit
  std::string hostname;
  std::string netns_dir;
  bool host_network = false;
  std::string join_netns;  // a network namespace to join instead of a new one
  bool host_ipc = false;
  bool pod_pid = false;  // one PID namespace for the pod's containers
  std::map<std::string, std::string> sysctls;
};

// What a process the shim starts becomes: a container's init, or an exec session's command.
struct ShimProcessSpec {
  std::vector<std::string> argv, env;
  std::string cwd = "/";
  uint32_t uid = 0, gid = 0;
  std::vector<uint32_t> additional_gids;
  std::vector<int> capabilities;
  bool no_new_privs = true;
  std::vector<uint64_t> seccomp_filter;  // struct sock_filter[]; empty: none
};

struct ShimContainerSpec {
  std::string rootfs;
  ShimProcessSpec process;
  bool read_only_rootfs = false;
  bool privileged = false;
  std::string hostname_file, hosts_file, resolv_conf_file;
  std::vector<VolumeMount> mounts;
  std::vector<std::string> masked_paths, readonly_paths;
  std::string pid_ns;  // "": its own; "pod"; "host"; "container:<id>": that one's
  std::vector<std::string> cgroup_procs_files;
  std::optional<int> oom_score_adj;
  // The container's stdin is kept open for attaching clients (stdin_once: closed when the
  // first one's input ends); tty: its stdio is a terminal.
  bool stdin = false, stdin_once = false, tty = false;
  // Given: files the shim opens (read-write, appending) as the process's stdout and stderr,
  // in place of pipes into the CRI log (a Nomad task's log FIFOs).
  std::string stdout_path, stderr_path;
  // FreeBSD: the container's devfs ruleset (its devices), links to make in its /dev
  // (name -> target), and whether it is a Linux image run through the Linux ABI.
  std::optional<int> devfs_ruleset;
  std::vector<std::pair<std::string, std::string>> dev_links;
  bool linux_image = false;
};

// The daemon's ends of a streamed exec session or of an attachment, non-blocking.
struct ShimStream {
  UniqueFd input, output, errors;  // with a terminal: output is it, input a copy, no errors
  UniqueFd done;  // the request's connection: the shim answers on it when the session ends
};

struct ShimExecResult {
  std::string stdout_bytes, stderr_bytes;
  int exit_code = 0;
  bool timed_out = false, truncated = false;
};

struct ShimContainerState {
  bool running = false;
  pid_t pid = -1;
  int exit_code = 0;
  int signal = 0;
  int64_t finished_at_unix_nano = 0;
};

class ShimClient {
 public:
  // Starts the shim (detached: re-parented away from the daemon) and waits until it is ready.
  static absl::StatusOr<std::unique_ptr<ShimClient>> Launch(const ShimLaunch& launch,
                                                            absl::Duration timeout);
  // A shim already running in `dir` (after stockaded restarted). Unavailable if it is gone.
  static absl::StatusOr<std::unique_ptr<ShimClient>> Connect(const std::string& dir);

  absl::StatusOr<pid_t> StartContainer(const std::string& id, const std::string& log_path,
                                       const ShimContainerSpec& spec);
  absl::Status Kill(const std::string& id, int signal);
  absl::StatusOr<ShimContainerState> State(const std::string& id);
  absl::Status ReopenLog(const std::string& id);
  // Runs a command in the running container `id` (the shim forks it; see exec_session.h),
  // reading its output here until the command ends; the shim kills its process group at the
  // timeout (zero: none). Output past `max_output` bytes is dropped and said so.
  absl::StatusOr<ShimExecResult> Exec(const std::string& id, const ShimProcessSpec& spec,
                                      absl::Duration timeout, size_t max_output);
  // Starts a command in the running container `id` whose stdio the caller streams; closing
  // `done` kills it. With `tty` it runs on a new terminal (its master is `output`).
  absl::StatusOr<ShimStream> OpenExec(const std::string& id, const ShimProcessSpec& spec, bool tty,
                                      bool with_stdin);
  // Joins the running container's stdio: the streams asked for are set in the result.
  absl::StatusOr<ShimStream> Attach(const std::string& id, bool in, bool out, bool err);
  // A TTY container's terminal size.
  absl::Status ResizeTerminal(const std::string& id, uint16_t width, uint16_t height);
  // The shim's answer on a ShimStream's `done`, once readable: an exec session's exit code (0
  // for an attachment), or why it failed.
  static absl::StatusOr<int> ReadStreamEnd(int done_fd);
  // Drops an ended container's entry and exit record.
  absl::Status Forget(const std::string& id);
  // Kills the pod's containers, releases its namespaces, ends the shim.
  absl::Status Shutdown();

 private:
  explicit ShimClient(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

}  // namespace stockade
