// Starts a container's process on Linux: joins the pod's namespaces, makes its own mount and
// PID namespaces, builds the filesystem (the snapshot as /, /proc, read-only /sys, a tmpfs /dev
// with the standard nodes, /dev/pts, /dev/shm, /dev/mqueue, the pod's hostname/hosts/
// resolv.conf, bind volumes), pivot_roots into it, drops to the container's user and
// capabilities, and execs. The order of set-up is one function, each step a named function;
// a failure in the child is reported back with the step that failed. Linux only.
#pragma once

#include <sys/types.h>

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
  // The pod's namespaces to join ("" to keep the caller's): /proc/<holder>/ns/{net,uts,ipc}.
  std::string net_ns, uts_ns, ipc_ns;
  // Files bind-mounted read-only at /etc/hostname, /etc/hosts, /etc/resolv.conf ("" to skip).
  std::string hostname_file, hosts_file, resolv_conf_file;
  std::vector<VolumeMount> mounts;
  // Hidden (a file behind /dev/null, a directory behind an empty read-only tmpfs) and
  // read-only paths, as kubelet sends them; ignored when they do not exist in the container.
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  int stdout_fd = -1;  // -1: /dev/null
  int stderr_fd = -1;
};

// The container's init process, as seen from the caller (its PID namespace's PID 1).
struct ContainerProcess {
  pid_t pid = -1;
};

// Returns once the process has exec'd (or reports why it could not, with nothing left running).
absl::StatusOr<ContainerProcess> StartContainerProcess(const ContainerProcessSpec& spec);

}  // namespace stockade
