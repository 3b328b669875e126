// The OS-neutral description of a pod jail and a container jail that the runtime core hands to
// a JailBackend. Plain data: the Linux backend turns it into namespaces, mounts and cgroups,
// the FreeBSD backend into jail parameters, mounts and rctl rules (see runtime/freebsd/).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace stockade {

// Resource limits from CRI LinuxContainerResources; only the fields that are set apply.
struct ResourceLimits {
  std::optional<int64_t> memory_limit_bytes;
  std::optional<int64_t> cpu_quota_us;  // with cpu_period_us: a CPU share of the machine
  std::optional<int64_t> cpu_period_us;
  std::optional<int64_t> cpu_shares;  // relative weight (Linux); no FreeBSD equivalent
  std::optional<int64_t> pids_limit;
  std::string cpuset_cpus;  // "0-3,6"
};

enum class MountPropagation { kPrivate, kHostToContainer, kBidirectional };

struct VolumeMount {
  std::string host_path;       // absolute, on the node
  std::string container_path;  // absolute, inside the container
  bool read_only = false;
  MountPropagation propagation = MountPropagation::kPrivate;
};

struct PodJailSpec {
  std::string pod_id;    // 64 hex characters
  std::string hostname;  // empty: the node's
  bool host_network = false;
  std::string join_network_namespace;  // a netns file to join rather than a new network
  bool share_ipc_with_host = false;
  std::map<std::string, std::string> sysctls;
  ResourceLimits limits;  // the pod's overall limits (pod-level cgroup / jail rctl)
};

struct ContainerJailSpec {
  std::string pod_id;
  std::string container_id;  // 64 hex characters
  std::string rootfs;        // prepared by a Snapshotter
  // The image config's "os" is "linux": FreeBSD runs it under the Linux ABI; Linux ignores it.
  bool linux_image = false;
  bool read_only_rootfs = false;
  bool privileged = false;
  std::vector<VolumeMount> mounts;
  ResourceLimits limits;
};

}  // namespace stockade
