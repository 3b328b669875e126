// A pod's Linux namespaces (network with `lo` up, UTS with the pod's host name, IPC), created
// by and held in a small holder process, with the network namespace bind-mounted at
// `<netns_dir>/<pod id>` for CNI plugins. The per-pod shim takes over the holder's role when it
// lands; the namespaces live exactly as long as the holder. Linux only.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace stockade {

struct PodNamespaceOptions {
  std::string pod_id;
  std::string hostname;     // set in the new UTS namespace; empty: keep the node's
  bool new_network = true;  // false: the node's network (hostNetwork pods)
  // With new_network: a network namespace file to join instead of making one (Nomad's group
  // network); it is bind-mounted at <netns_dir>/<pod id> all the same, and its lo left alone.
  std::string join_network;
  bool new_ipc = true;
  bool new_pid = false;  // one PID namespace for the pod, with a small init as its PID 1
  // Namespaced sysctls (net.*, kernel.shm*, ...), set inside the new namespaces.
  std::map<std::string, std::string> sysctls;
  std::string netns_dir = "/run/stockade/netns";
};

class PodNamespaces {
 public:
  // Nothing is left behind on failure.
  static absl::StatusOr<std::unique_ptr<PodNamespaces>> Create(const PodNamespaceOptions& options);
  ~PodNamespaces();

  pid_t holder_pid() const { return holder_; }
  // The bind-mounted network namespace ("" on the node's network).
  const std::string& netns_path() const { return netns_path_; }
  // The pod's namespace of `kind` (net, uts, ipc, pid) for setns(2) by containers joining the
  // pod: /proc/self/fd/<fd> of a descriptor opened once when the pod was made, so a holder
  // that died and whose PID was reused can never lead anywhere else ("" for "pid" when the pod
  // has no PID namespace of its own). Valid in this process and the children it forks.
  std::string NamespacePath(const std::string& kind) const;

  // Stops the holder and removes the netns mount; idempotent.
  absl::Status Destroy();

 private:
  PodNamespaces(pid_t holder, std::string netns_path, bool own_pid)
      : holder_(holder), own_pid_(own_pid), netns_path_(std::move(netns_path)) {}
  pid_t holder_;
  bool own_pid_;
  std::string netns_path_;
  std::map<std::string, UniqueFd> namespace_fds_;
};

}  // namespace stockade
