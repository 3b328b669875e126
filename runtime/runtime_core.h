// The OS-neutral runtime core: pods and containers, their lifecycle (runtime/lifecycle.h),
// intent-first records in the StateStore, one lock per pod and container ID, and recovery
// after a restart. The CRI and Nomad front ends translate their messages into these calls; the
// OS is reached only through JailBackend, ResourceLimiter, Snapshotter and ContainerImageSource.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "runtime/container_events.h"
#include "runtime/container_image.h"
#include "runtime/ids.h"
#include "runtime/jail_backend.h"
#include "runtime/lifecycle.h"
#include "runtime/name_registry.h"
#include "runtime/pod_network.h"
#include "runtime/resolv_conf.h"
#include "runtime/snapshot/snapshotter.h"

namespace stockade {

class Snapshotter;
class StateStore;
class IdLocks;
class CoreTables;
namespace v1 {
class PodRecord;
class ContainerRecord;
}  // namespace v1

using Labels = std::map<std::string, std::string>;

// A RunPodSandbox request, in plain terms.
struct PodSandboxSpec {
  std::string name, ns, uid;
  uint32_t attempt = 0;
  std::string hostname, log_directory, runtime_handler, cgroup_parent;
  Labels labels, annotations;
  DnsSettings dns;
  NamespaceMode network = NamespaceMode::kPod, pid = NamespaceMode::kContainer,
                ipc = NamespaceMode::kPod;
  std::map<std::string, std::string> sysctls;
  std::vector<PortMapping> port_mappings;
  int64_t ingress_bits_per_second = 0, egress_bits_per_second = 0;
  // With network kPod: join this existing network namespace (a bind-mounted netns file, such
  // as the one Nomad makes for a task group) instead of making one; no CNI plugin is called.
  std::string network_namespace_path;
};

// A CreateContainer request, in plain terms.
struct ContainerSpec {
  std::string name;
  uint32_t attempt = 0;
  std::string image;
  std::vector<std::string> command, args;
  std::string working_dir;
  std::vector<std::pair<std::string, std::string>> envs;
  std::vector<VolumeMount> mounts;
  Labels labels, annotations;
  std::string log_path;  // relative to the pod's log directory
  std::optional<int64_t> run_as_user, run_as_group;
  std::string run_as_username;
  std::vector<int64_t> supplemental_groups;
  bool privileged = false, read_only_rootfs = false, no_new_privs = false;
  std::vector<std::string> add_capabilities, drop_capabilities;
  std::vector<std::string> masked_paths, readonly_paths;
  NamespaceMode pid = NamespaceMode::kContainer;
  std::string target_id;
  SeccompMode seccomp = SeccompMode::kUnconfined;
  std::string seccomp_profile_path;  // kLocalhost: an absolute path on the node
  ResourceLimits limits;
  std::optional<int64_t> oom_score_adj;
  bool stdin = false, stdin_once = false, tty = false;
  // Given, these files (Nomad's log FIFOs, opened read-write so that opening never blocks)
  // are the process's stdout and stderr, instead of the CRI log. Paths on the node.
  std::string stdout_path, stderr_path;
};

struct PodSandboxView {
  std::string id, name, ns, uid;
  uint32_t attempt = 0;
  PodState state = PodState::kNotReady;
  int64_t created_at_unix_nano = 0;
  Labels labels, annotations;
  std::string runtime_handler, hostname, network_namespace_path, log_directory, message;
  std::vector<std::string> ips;  // IPv4 first; empty on the host network or once stopped
  NamespaceMode network = NamespaceMode::kPod, pid = NamespaceMode::kContainer,
                ipc = NamespaceMode::kPod;
};

struct ContainerView {
  std::string id, pod_id, name;
  uint32_t attempt = 0;
  ContainerState state = ContainerState::kUnknown;
  std::string image, image_ref, image_id;
  int64_t created_at_unix_nano = 0, started_at_unix_nano = 0, finished_at_unix_nano = 0;
  int exit_code = 0;
  std::string reason, message;
  Labels labels, annotations;
  std::string log_path;  // absolute
  std::vector<VolumeMount> mounts;
  ResourceLimits limits;
  int pid = 0;
  bool stdin = false, tty = false;
};

// A container's use of the node, for ContainerStats and ListContainerStats.
struct ContainerStatsView {
  ContainerView container;
  int64_t timestamp_unix_nano = 0;
  ScopeUsage usage;
  // CPU cores used since the previous sample of this container (nullopt at the first).
  std::optional<uint64_t> usage_nano_cores;
  std::optional<DiskUsage> writable_layer;  // what the container wrote to its rootfs
};

// A ready pod's use of the node: its resource scope (every container of it), its interfaces,
// and its containers'.
struct PodStatsView {
  PodSandboxView pod;
  int64_t timestamp_unix_nano = 0;
  ScopeUsage usage;
  std::optional<uint64_t> usage_nano_cores;
  std::vector<InterfaceCounters> interfaces;
  std::vector<ContainerStatsView> containers;
};

struct PodFilter {
  std::string id;  // a prefix of the ID
  std::optional<PodState> state;
  Labels labels;  // all must match
};

struct ContainerFilter {
  std::string id, pod_id;  // prefixes
  std::optional<ContainerState> state;
  Labels labels;
};

struct RuntimeCoreOptions {
  std::string run_dir;  // pods' run directories go under <run_dir>/pods/<id>
  std::string netns_dir = "/run/stockade/netns";  // where the backend binds network namespaces
  // What a pod's network is called to CNI (CNI_NETNS) and in its record; unset: the namespace
  // bound at <netns_dir>/<pod id> (Linux). FreeBSD: the pod's VNET jail name.
  std::function<std::string(const std::string& pod_id)> pod_network_handle;
  std::string node_resolv_conf = "/etc/resolv.conf";
  int node_oom_score_adj = 0;  // the lowest oom_score_adj the runtime may give (its own)
  absl::Duration kill_grace = absl::Seconds(10);  // how long to wait after SIGKILL
};

// The image layer directories that containers' root filesystems use, from the container
// records (the image store's garbage collection keeps them).
std::set<std::string> LayerDirsInUse(StateStore& store);

class RuntimeCore {
 public:
  struct Deps {
    StateStore& store;
    JailBackend& backend;
    ResourceLimiter& limiter;
    Snapshotter& snapshotter;
    ContainerImageSource& images;
    PodNetwork& network;
  };
  // Loads the records and reconciles them with what is running (see recovery.cc).
  static absl::StatusOr<std::unique_ptr<RuntimeCore>> Open(const Deps& deps,
                                                           const RuntimeCoreOptions& options);
  ~RuntimeCore();

  absl::StatusOr<std::string> RunPod(const PodSandboxSpec& spec);
  absl::Status StopPod(const std::string& id);
  absl::Status RemovePod(const std::string& id);
  absl::StatusOr<PodSandboxView> PodStatus(const std::string& id);
  // The pod's overall limits (its resource scope), as in-place pod resizing sends them.
  absl::Status UpdatePodResources(const std::string& id, const ResourceLimits& limits);
  std::vector<PodSandboxView> ListPods(const PodFilter& filter);

  absl::StatusOr<std::string> CreateContainer(const std::string& pod_id, const ContainerSpec& spec);
  absl::Status StartContainer(const std::string& id);
  // The image's stop signal (or `signal`, when not 0), then SIGKILL once `timeout` has passed.
  absl::Status StopContainer(const std::string& id, absl::Duration timeout, int signal = 0);
  // Sends `signal` to a running container's process (FailedPrecondition when it is not).
  absl::Status SignalContainer(const std::string& id, int signal);
  absl::Status RemoveContainer(const std::string& id);
  absl::StatusOr<ContainerView> ContainerStatus(const std::string& id);
  std::vector<ContainerView> ListContainers(const ContainerFilter& filter);
  absl::Status UpdateContainerResources(const std::string& id, const ResourceLimits& limits);
  absl::Status ReopenContainerLog(const std::string& id);
  absl::StatusOr<ExecOutput> ExecSync(const std::string& id, const std::vector<std::string>& argv,
                                      absl::Duration timeout);
  // Every state but CREATING, as containerd lists them (see container_stats.cc).
  absl::StatusOr<ContainerStatsView> ContainerStats(const std::string& id);
  std::vector<ContainerStatsView> ListContainerStats(const ContainerFilter& filter);
  // Ready pods only (FailedPrecondition for one that is not), as containerd.
  absl::StatusOr<PodStatsView> PodStats(const std::string& id);
  std::vector<PodStatsView> ListPodStats(const PodFilter& filter);
  // For the streaming server (see container_streams.cc): a command with a client on its
  // stdio; a client on a running container's stdio; a connection to a port of a ready pod.
  absl::StatusOr<std::unique_ptr<ProcessStream>> ExecStream(const std::string& id,
                                                            const std::vector<std::string>& argv,
                                                            bool tty, bool stdin);
  absl::StatusOr<std::unique_ptr<ProcessStream>> Attach(const std::string& id, bool stdin,
                                                        bool stdout, bool stderr);
  absl::StatusOr<UniqueFd> DialPod(const std::string& pod_id, int port);
  // The container, when it runs (FailedPrecondition naming `purpose` otherwise).
  absl::StatusOr<ContainerView> RunningContainer(const std::string& id, absl::string_view purpose);
  absl::StatusOr<PodSandboxView> ReadyPod(const std::string& id);

  // The pods' run directory.
  std::string PodDir(const std::string& pod_id) const;

  // Lifecycle events of every container, in order (GetContainerEvents).
  ContainerEvents& events() { return events_; }
  // Notices containers' exits every `interval` (a STOPPED event without waiting for a call
  // that looks at the container), until the core is destroyed.
  void WatchExits(absl::Duration interval);

 private:
  RuntimeCore(const Deps& deps, const RuntimeCoreOptions& options);
  absl::Status Load();
  // Reconciles every record with what runs: see recovery.cc.
  void Recover();
  void RecoverPod(const v1::PodRecord& pod);
  void RecoverContainer(v1::ContainerRecord container);
  void RemoveLeftovers();

  absl::Status WritePodFiles(const PodSandboxSpec& spec, const std::string& dir) const;
  absl::Status DestroyPod(const v1::PodRecord& pod);
  // Detaches the pod's network if it has one attached (or may have: a creation cut short).
  absl::Status DetachNetwork(v1::PodRecord& pod);
  // Runs `fn` on each container of the pod with the container's lock held and its current
  // record, stopping at the first error.
  absl::Status ForEachContainerLocked(const std::string& pod_id,
                                      const std::function<absl::Status(v1::ContainerRecord&)>& fn);
  // The pod's lock is held by the caller.
  absl::Status StopPodLocked(v1::PodRecord pod);
  absl::Status RemovePodLocked(const v1::PodRecord& pod);
  // The container's lock is held by the caller.
  absl::Status StopContainerLocked(v1::ContainerRecord& container, absl::Duration timeout,
                                   int signal = 0);
  absl::Status RemoveContainerLocked(v1::ContainerRecord container);
  // Notices an exit (or a lost shim) of a RUNNING or STOPPING container and records it.
  void Refresh(v1::ContainerRecord& container);
  absl::Status RecordExit(v1::ContainerRecord& container, const ContainerExit& exit);
  absl::StatusOr<std::string> ResolveContainer(const std::string& id) const;
  void Emit(const v1::ContainerRecord& c, ContainerEventType type);
  ContainerStatsView StatsOf(ContainerView view, const std::string& scope);
  PodStatsView PodStatsOf(PodSandboxView pod, const v1::PodRecord& record);
  // Cores used since the previous sample under `key` (nullopt at the first); keeps this one.
  std::optional<uint64_t> NanoCores(const std::string& key, int64_t at_unix_nano, uint64_t cpu_ns);

  Deps deps_;
  RuntimeCoreOptions options_;
  std::unique_ptr<IdLocks> locks_;
  NameRegistry names_;
  IdIndex pod_ids_, container_ids_;
  // The records, by ID (protobuf stays in the .cc files).
  std::unique_ptr<CoreTables> tables_;
  // The previous CPU sample of each container, for usage_nano_cores.
  struct CpuSample {
    int64_t at_unix_nano = 0;
    uint64_t cpu_ns = 0;
  };
  absl::Mutex samples_mu_;
  std::map<std::string, CpuSample> cpu_samples_ ABSL_GUARDED_BY(samples_mu_);
  ContainerEvents events_;
  absl::Notification stop_watching_;
  std::thread watcher_;
};

}  // namespace stockade
