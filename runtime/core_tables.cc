#include "runtime/core_tables.h"

#include "runtime/runtime_core.h"
#include "state/record_codec.h"

namespace stockade {

absl::Status CoreTables::Load() {
  absl::StatusOr<std::vector<StateEntry>> pods = store_.List(RecordKind::kPod, "");
  if (!pods.ok()) return pods.status();
  absl::StatusOr<std::vector<StateEntry>> containers = store_.List(RecordKind::kContainer, "");
  if (!containers.ok()) return containers.status();
  absl::MutexLock lock(&mu_);
  for (const auto& [key, bytes] : *pods) {
    absl::StatusOr<v1::PodRecord> r = DecodeRecord<v1::PodRecord>(RecordKind::kPod, key, bytes);
    if (!r.ok()) return r.status();
    pods_[key] = *std::move(r);
  }
  for (const auto& [key, bytes] : *containers) {
    absl::StatusOr<v1::ContainerRecord> r =
        DecodeRecord<v1::ContainerRecord>(RecordKind::kContainer, key, bytes);
    if (!r.ok()) return r.status();
    containers_[key] = *std::move(r);
  }
  return absl::OkStatus();
}

std::optional<v1::PodRecord> CoreTables::Pod(const std::string& id) const {
  absl::MutexLock lock(&mu_);
  auto it = pods_.find(id);
  if (it == pods_.end()) return std::nullopt;
  return it->second;
}

std::optional<v1::ContainerRecord> CoreTables::Container(const std::string& id) const {
  absl::MutexLock lock(&mu_);
  auto it = containers_.find(id);
  if (it == containers_.end()) return std::nullopt;
  return it->second;
}

std::vector<v1::PodRecord> CoreTables::Pods() const {
  absl::MutexLock lock(&mu_);
  std::vector<v1::PodRecord> out;
  for (const auto& [id, r] : pods_) out.push_back(r);
  return out;
}

std::vector<v1::ContainerRecord> CoreTables::Containers() const {
  absl::MutexLock lock(&mu_);
  std::vector<v1::ContainerRecord> out;
  for (const auto& [id, r] : containers_) out.push_back(r);
  return out;
}

std::vector<v1::ContainerRecord> CoreTables::ContainersOf(const std::string& pod_id) const {
  absl::MutexLock lock(&mu_);
  std::vector<v1::ContainerRecord> out;
  for (const auto& [id, r] : containers_) {
    if (r.pod_id() == pod_id) out.push_back(r);
  }
  return out;
}

absl::Status CoreTables::Put(const v1::PodRecord& record) {
  if (absl::Status s = PutRecord(store_, RecordKind::kPod, record.id(), record, Durability::kSync);
      !s.ok()) {
    return s;
  }
  absl::MutexLock lock(&mu_);
  pods_[record.id()] = record;
  return absl::OkStatus();
}

absl::Status CoreTables::Put(const v1::ContainerRecord& record) {
  if (absl::Status s =
          PutRecord(store_, RecordKind::kContainer, record.id(), record, Durability::kSync);
      !s.ok()) {
    return s;
  }
  absl::MutexLock lock(&mu_);
  containers_[record.id()] = record;
  return absl::OkStatus();
}

absl::Status CoreTables::DeletePod(const std::string& id) {
  if (absl::Status s = store_.Delete(RecordKind::kPod, id, Durability::kSync); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  pods_.erase(id);
  return absl::OkStatus();
}

absl::Status CoreTables::DeleteContainer(const std::string& id) {
  if (absl::Status s = store_.Delete(RecordKind::kContainer, id, Durability::kSync); !s.ok()) {
    return s;
  }
  absl::MutexLock lock(&mu_);
  containers_.erase(id);
  return absl::OkStatus();
}

std::set<std::string> LayerDirsInUse(StateStore& store) {
  std::set<std::string> dirs;
  absl::StatusOr<std::vector<StateEntry>> entries = store.List(RecordKind::kContainer, "");
  if (!entries.ok()) return dirs;
  for (const auto& [key, bytes] : *entries) {
    v1::ContainerRecord record;
    if (record.ParseFromString(bytes))
      dirs.insert(record.layer_dirs().begin(), record.layer_dirs().end());
  }
  return dirs;
}

PodState FromRecord(v1::PodState state) {
  switch (state) {
    case v1::POD_STATE_CREATING:
      return PodState::kCreating;
    case v1::POD_STATE_READY:
      return PodState::kReady;
    case v1::POD_STATE_STOPPING:
      return PodState::kStopping;
    case v1::POD_STATE_REMOVING:
      return PodState::kRemoving;
    default:
      return PodState::kNotReady;
  }
}

v1::PodState ToRecord(PodState state) {
  switch (state) {
    case PodState::kCreating:
      return v1::POD_STATE_CREATING;
    case PodState::kReady:
      return v1::POD_STATE_READY;
    case PodState::kStopping:
      return v1::POD_STATE_STOPPING;
    case PodState::kRemoving:
      return v1::POD_STATE_REMOVING;
    case PodState::kNotReady:
      break;
  }
  return v1::POD_STATE_NOT_READY;
}

ContainerState FromRecord(v1::ContainerState state) {
  switch (state) {
    case v1::CONTAINER_STATE_CREATING:
      return ContainerState::kCreating;
    case v1::CONTAINER_STATE_CREATED:
      return ContainerState::kCreated;
    case v1::CONTAINER_STATE_RUNNING:
      return ContainerState::kRunning;
    case v1::CONTAINER_STATE_STOPPING:
      return ContainerState::kStopping;
    case v1::CONTAINER_STATE_EXITED:
      return ContainerState::kExited;
    case v1::CONTAINER_STATE_REMOVING:
      return ContainerState::kRemoving;
    default:
      return ContainerState::kUnknown;
  }
}

v1::ContainerState ToRecord(ContainerState state) {
  switch (state) {
    case ContainerState::kCreating:
      return v1::CONTAINER_STATE_CREATING;
    case ContainerState::kCreated:
      return v1::CONTAINER_STATE_CREATED;
    case ContainerState::kRunning:
      return v1::CONTAINER_STATE_RUNNING;
    case ContainerState::kStopping:
      return v1::CONTAINER_STATE_STOPPING;
    case ContainerState::kExited:
      return v1::CONTAINER_STATE_EXITED;
    case ContainerState::kRemoving:
      return v1::CONTAINER_STATE_REMOVING;
    case ContainerState::kUnknown:
      break;
  }
  return v1::CONTAINER_STATE_UNKNOWN;
}

ResourceLimits FromRecord(const v1::ResourcesRecord& r) {
  ResourceLimits l;
  if (r.has_memory_limit_bytes()) l.memory_limit_bytes = r.memory_limit_bytes();
  if (r.has_cpu_quota_us()) l.cpu_quota_us = r.cpu_quota_us();
  if (r.has_cpu_period_us()) l.cpu_period_us = r.cpu_period_us();
  if (r.has_cpu_shares()) l.cpu_shares = r.cpu_shares();
  if (r.has_pids_limit()) l.pids_limit = r.pids_limit();
  l.cpuset_cpus = r.cpuset_cpus();
  return l;
}

VolumeMount FromRecord(const v1::MountRecord& m) {
  return {m.host_path(), m.container_path(), m.read_only(),
          static_cast<MountPropagation>(m.propagation())};
}

v1::MountRecord ToRecord(const VolumeMount& m) {
  v1::MountRecord r;
  r.set_host_path(m.host_path);
  r.set_container_path(m.container_path);
  r.set_read_only(m.read_only);
  r.set_propagation(static_cast<int>(m.propagation));
  return r;
}

v1::ResourcesRecord ToRecord(const ResourceLimits& l) {
  v1::ResourcesRecord r;
  if (l.memory_limit_bytes) r.set_memory_limit_bytes(*l.memory_limit_bytes);
  if (l.cpu_quota_us) r.set_cpu_quota_us(*l.cpu_quota_us);
  if (l.cpu_period_us) r.set_cpu_period_us(*l.cpu_period_us);
  if (l.cpu_shares) r.set_cpu_shares(*l.cpu_shares);
  if (l.pids_limit) r.set_pids_limit(*l.pids_limit);
  r.set_cpuset_cpus(l.cpuset_cpus);
  return r;
}

}  // namespace stockade
