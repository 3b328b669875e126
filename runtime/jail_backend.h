// The seams between the OS-neutral runtime core and the operating system: the jail backend
// (a pod's jail or namespaces and its shim; the container processes in it) and the resource
// limiter (cgroups on Linux, rctl on FreeBSD). Keyed by pod and container IDs, without state of
// their own that a daemon restart could lose: a live pod is found again from its ID.
// Fakes for the core's unit tests are in runtime/testing/.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/unique_fd.h"
#include "runtime/jail_spec.h"
#include "runtime/process_stream.h"

namespace stockade {

// CRI NamespaceMode, with the same numbers.
enum class NamespaceMode { kPod = 0, kContainer = 1, kNode = 2, kTarget = 3 };

enum class SeccompMode { kUnconfined, kRuntimeDefault, kLocalhost };

// What a pod's jail is made of, beyond PodJailSpec's portable part.
struct PodLaunch {
  PodJailSpec jail;
  NamespaceMode pid_mode = NamespaceMode::kContainer;  // kPod: one PID namespace for the pod
  std::string dir;  // the pod's run directory (the shim's socket, exit records, pod files)
};

// How a container's process runs: identity, environment, confinement.
struct ProcessIdentity {
  std::vector<std::string> argv, env;
  std::string cwd = "/";
  uint32_t uid = 0, gid = 0;
  std::vector<uint32_t> additional_gids;
  std::vector<int> capabilities;
  bool no_new_privs = true;
  SeccompMode seccomp = SeccompMode::kUnconfined;
  std::string seccomp_profile;  // kLocalhost: the profile (Docker/OCI JSON), checked at create
};

struct ContainerLaunch {
  ContainerJailSpec jail;
  ProcessIdentity process;
  std::string log_path;  // the CRI log file the shim writes
  std::string hostname_file, hosts_file, resolv_conf_file;
  std::vector<std::string> masked_paths, readonly_paths;
  NamespaceMode pid_mode = NamespaceMode::kContainer;
  pid_t target_pid = -1;       // kTarget: a process of the container whose PID namespace to join
  std::string target_id;       // kTarget: that container (the backend may find it by its id)
  std::string resource_scope;  // the limiter's scope the process starts in
  std::optional<int> oom_score_adj;
  bool stdin = false, stdin_once = false, tty = false;  // CRI ContainerConfig's
  std::string stdout_path, stderr_path;  // given: the process's stdout/stderr, not the log
};

// A container's process as its pod's shim saw it end. Exit code 128+N for signal N.
struct ContainerExit {
  int exit_code = 0;
  int signal = 0;
  int64_t finished_at_unix_nano = 0;
};

struct ContainerRunState {
  bool running = false;
  pid_t pid = -1;
  ContainerExit exit;  // when not running
};

struct ExecOutput {
  std::string stdout_bytes, stderr_bytes;
  int exit_code = 0;
  bool timed_out = false;
  bool truncated = false;  // more output than kMaxExecOutput: the rest was dropped
};

// What ExecSync keeps of a command's stdout and stderr together: 16 MiB as containerd, less
// room for the rest of the response, which must fit kubelet's 16 MiB message limit.
inline constexpr size_t kMaxExecOutput = (16 << 20) - (64 << 10);

struct InterfaceCounters {
  std::string name;
  uint64_t rx_bytes = 0, rx_packets = 0, rx_errors = 0, rx_dropped = 0;
  uint64_t tx_bytes = 0, tx_packets = 0, tx_errors = 0, tx_dropped = 0;
};

class JailBackend {
 public:
  virtual ~JailBackend() = default;
  // Makes the pod's jail (namespaces, its shim). On failure nothing is left behind.
  virtual absl::Status CreatePod(const PodLaunch& launch) = 0;
  // The pod's jail and shim are alive.
  virtual bool PodAlive(const std::string& pod_id, const std::string& dir) = 0;
  // Ends every process of the pod, its shim and jail; what is already gone is no error.
  virtual absl::Status DestroyPod(const std::string& pod_id, const std::string& dir) = 0;

  // Starts the container's process; returns its PID on the node.
  virtual absl::StatusOr<pid_t> StartContainer(const std::string& dir,
                                               const ContainerLaunch& launch) = 0;
  virtual absl::Status SignalContainer(const std::string& dir, const std::string& container_id,
                                       int signal) = 0;
  // Whether the container runs, or how it ended. An error (Unavailable) when its pod's shim is
  // gone; NotFound when the shim never started it.
  virtual absl::StatusOr<ContainerRunState> InspectContainer(const std::string& dir,
                                                             const std::string& container_id) = 0;
  // Whether the shim recorded the container's exit (cheap: for polling many containers).
  virtual bool HasExited(const std::string& dir, const std::string& container_id) = 0;
  // Drops what the shim keeps of an ended container (its exit record).
  virtual absl::Status ForgetContainer(const std::string& dir, const std::string& container_id) = 0;
  virtual absl::Status ReopenLog(const std::string& dir, const std::string& container_id) = 0;
  // Whether the node lets `mount` propagate as it asks: FailedPrecondition naming the mount
  // point when a Bidirectional source is not on a shared mount, or a HostToContainer one on
  // neither a shared nor a slave mount (containerd's ensureShared / ensureSharedOrSlave).
  virtual absl::Status CheckVolumePropagation(const VolumeMount& mount) = 0;
  // Runs `identity.argv` in the running container, started by its pod's jail keeper (the
  // shim), as `identity` says, collecting its output (at most kMaxExecOutput); the call ends
  // when the command ends, and at the deadline its process group is killed.
  virtual absl::StatusOr<ExecOutput> Exec(const std::string& dir, const std::string& container_id,
                                          const ProcessIdentity& identity,
                                          absl::Duration timeout) = 0;
  // The same, for a client that streams the command's stdio (kubectl exec): the command runs
  // until it ends or the stream is closed (closing it kills the command's process group).
  virtual absl::StatusOr<std::unique_ptr<ProcessStream>> ExecStream(const std::string& dir,
                                                                    const std::string& container_id,
                                                                    const ProcessIdentity& identity,
                                                                    bool tty, bool stdin) = 0;
  // Joins the running container's stdio (kubectl attach); `tty` is the container's own.
  virtual absl::StatusOr<std::unique_ptr<ProcessStream>> Attach(const std::string& dir,
                                                                const std::string& container_id,
                                                                bool tty, bool stdin, bool stdout,
                                                                bool stderr) = 0;
  // A TCP connection to `port` on the pod's loopback (IPv4, then IPv6), made in its network
  // namespace (jail); on the node's with host networking.
  virtual absl::StatusOr<UniqueFd> DialPod(const std::string& pod_id, bool host_network,
                                           int port) = 0;
  // The byte and error counters of the pod's interfaces but loopback (none on the host
  // network: the node's are not the pod's).
  virtual absl::StatusOr<std::vector<InterfaceCounters>> PodInterfaces(const std::string& pod_id,
                                                                       bool host_network) = 0;
};

// What a scope's processes use now, as the kernel counts it (cgroups; rctl on FreeBSD).
struct ScopeUsage {
  uint64_t cpu_usage_ns = 0;  // CPU time since the scope was made
  uint64_t memory_usage_bytes = 0;
  uint64_t memory_working_set_bytes = 0;  // usage less the inactive file cache, as kubelet counts
  uint64_t memory_rss_bytes = 0;
  uint64_t page_faults = 0, major_page_faults = 0;
  uint64_t process_count = 0;  // processes (threads on Linux: pids counts tasks) in the scope
  // The kernel's own measure of the current CPU rate, where it keeps one (FreeBSD's racct pcpu,
  // whose cputime counts whole seconds only); unset: the core derives it from two samples.
  std::optional<uint64_t> cpu_nano_cores;
};

class ResourceLimiter {
 public:
  virtual ~ResourceLimiter() = default;
  // Creates the scope (idempotent) and applies the limits that are set.
  virtual absl::Status Create(const std::string& scope, const ResourceLimits& limits) = 0;
  virtual absl::Status Update(const std::string& scope, const ResourceLimits& limits) = 0;
  // How many times the kernel's OOM killer killed in the scope.
  virtual absl::StatusOr<int64_t> OomKills(const std::string& scope) = 0;
  // Kills every process in the scope: a container that shares a PID namespace (the pod's, the
  // node's, another container's) leaves its children behind when its init dies.
  virtual absl::Status KillAll(const std::string& scope) = 0;
  // What the scope's processes use now; zeros for a scope nothing ran in yet.
  virtual absl::StatusOr<ScopeUsage> Usage(const std::string& scope) = 0;
  // Removes the scope; a missing one is no error.
  virtual absl::Status Remove(const std::string& scope) = 0;
};

}  // namespace stockade
