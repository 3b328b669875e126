// The runtime core's records in memory, mirrored in the StateStore: internal to runtime/
// (it pulls in protobuf), shared by the files that implement RuntimeCore.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "runtime/jail_spec.h"
#include "runtime/lifecycle.h"
#include "state/state_store.h"
#include "stockade/v1/records.pb.h"

namespace stockade {

// Every write goes to the store first (synced: each is a lifecycle step), then to memory.
class CoreTables {
 public:
  explicit CoreTables(StateStore& store) : store_(store) {}

  absl::Status Load();
  std::optional<v1::PodRecord> Pod(const std::string& id) const;
  std::optional<v1::ContainerRecord> Container(const std::string& id) const;
  std::vector<v1::PodRecord> Pods() const;
  std::vector<v1::ContainerRecord> Containers() const;
  std::vector<v1::ContainerRecord> ContainersOf(const std::string& pod_id) const;

  absl::Status Put(const v1::PodRecord& record);
  absl::Status Put(const v1::ContainerRecord& record);
  absl::Status DeletePod(const std::string& id);
  absl::Status DeleteContainer(const std::string& id);

 private:
  StateStore& store_;
  mutable absl::Mutex mu_;
  std::map<std::string, v1::PodRecord> pods_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, v1::ContainerRecord> containers_ ABSL_GUARDED_BY(mu_);
};

// Conversions between the lifecycle enums and their persisted form.
PodState FromRecord(v1::PodState state);
v1::PodState ToRecord(PodState state);
ContainerState FromRecord(v1::ContainerState state);
v1::ContainerState ToRecord(ContainerState state);
ResourceLimits FromRecord(const v1::ResourcesRecord& record);
// The network request of a pod, from its record (pod_sandbox.cc).
struct PodNetworkRequest;
PodNetworkRequest NetworkRequestOf(const v1::PodRecord& record);
v1::ResourcesRecord ToRecord(const ResourceLimits& limits);
VolumeMount FromRecord(const v1::MountRecord& record);
v1::MountRecord ToRecord(const VolumeMount& mount);

}  // namespace stockade
