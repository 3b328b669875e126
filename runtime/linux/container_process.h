// Starts a container's process on Linux: joins the pod's namespaces, makes its own mount and
// PID namespaces, builds the filesystem (the snapshot as /, /proc, read-only /sys, a tmpfs /dev
// with the standard nodes, /dev/pts, /dev/shm, /dev/mqueue, the pod's hostname/hosts/
// resolv.conf, bind volumes), pivot_roots into it, drops to the container's user and
// capabilities, and execs. The order of set-up is one function, each step a named function;
// a failure in the child is reported back with the step that failed. Linux only.
#pragma once

#include <sys/types.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/jail_spec.h"

namespace stockade {

struct ContainerProcessSpec {
  std::string rootfs;             // a prepared snapshot
  std::vector<std::string> argv;  // argv[0] resolved inside the rootfs via PATH if relative
  std::vector<std::string> env;
  std::string cwd = "/";
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;
  std::set<int> capabilities;  // bounding = permitted = effective
  bool no_new_privs = true;
  bool read_only_rootfs = false;
  bool privileged = false;  // /sys writable (capabilities and paths are the caller's part)
  // The pod's namespaces to join ("" to keep the caller's): /proc/<holder>/ns/{net,uts,ipc}.
  std::string net_ns, uts_ns, ipc_ns;
  // PID namespace: a new one (the process is its PID 1), or join `pid_ns` (the pod's, or a
  // target container's), or neither: the caller's (the node's).
  bool new_pid_namespace = true;
  std::string pid_ns;
  // cgroup.procs (v2) or each hierarchy's `tasks` (v1): what the process enters first, while it
  // is single-threaded (LinuxCgroups::ProcsFiles).
  std::vector<std::string> cgroup_procs_files;
  std::optional<int> oom_score_adj;
  // A classic-BPF seccomp filter (struct sock_filter[]), loaded last before exec; empty: none.
  std::vector<uint64_t> seccomp_filter;
  // Files bind-mounted read-only at /etc/hostname, /etc/hosts, /etc/resolv.conf ("" to skip).
  std::string hostname_file, hosts_file, resolv_conf_file;
  std::vector<VolumeMount> mounts;
  // Hidden (a file behind /dev/null, a directory behind an empty read-only tmpfs) and
  // read-only paths, as kubelet sends them; ignored when they do not exist in the container.
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  int stdin_fd = -1;   // -1: /dev/null
  int stdout_fd = -1;  // -1: /dev/null
  // The process runs on a terminal of the container's own devpts (made after pivot_root, as
  // runc's console): 0, 1 and 2 are it, the process leads a session with it as the controlling
  // terminal, and its master goes out over `console_socket` (one byte, SCM_RIGHTS) before the
  // exec. The std*_fd above are then unused.
  bool tty = false;
  int console_socket = -1;
  int stderr_fd = -1;
};

// The container's init process, as seen from the caller (its PID namespace's PID 1).
struct ContainerProcess {
  pid_t pid = -1;
  // Made inside its cgroup (cgroup v2, clone3 CLONE_INTO_CGROUP) rather than moved there.
  bool born_in_cgroup = false;
};

// Returns once the process has exec'd (or reports why it could not, with nothing left running).
absl::StatusOr<ContainerProcess> StartContainerProcess(const ContainerProcessSpec& spec);

}  // namespace stockade
