// RuntimeCore::Open and the reconciliation after a restart: every record is matched with what
// runs. Transitional records are finished (STOPPING, REMOVING) or rolled back (CREATING);
// running containers whose process ended while the daemon was down get their exit recorded from
// the shim; pods whose shim is gone become NOT_READY; run directories and snapshots that no
// record owns are removed.
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "runtime/core_tables.h"
#include "runtime/id_locks.h"
#include "runtime/runtime_core.h"
#include "runtime/snapshot/snapshotter.h"

namespace stockade {

RuntimeCore::RuntimeCore(const Deps& deps, const RuntimeCoreOptions& options)
    : deps_(deps),
      options_(options),
      locks_(std::make_unique<IdLocks>()),
      tables_(std::make_unique<CoreTables>(deps.store)) {}

RuntimeCore::~RuntimeCore() {
  stop_watching_.Notify();
  if (watcher_.joinable()) watcher_.join();
}

absl::StatusOr<std::unique_ptr<RuntimeCore>> RuntimeCore::Open(const Deps& deps,
                                                               const RuntimeCoreOptions& options) {
  std::unique_ptr<RuntimeCore> core(new RuntimeCore(deps, options));
  if (absl::Status s = core->Load(); !s.ok()) return s;
  core->Recover();
  return core;
}

absl::Status RuntimeCore::Load() {
  if (absl::Status s = tables_->Load(); !s.ok()) return s;
  for (const v1::PodRecord& pod : tables_->Pods()) {
    if (absl::Status s = pod_ids_.Add(pod.id()); !s.ok()) return s;
    names_.Reserve(SandboxName(pod.name(), pod.namespace_(), pod.uid(), pod.attempt()), pod.id())
        .IgnoreError();
  }
  for (const v1::ContainerRecord& c : tables_->Containers()) {
    if (absl::Status s = container_ids_.Add(c.id()); !s.ok()) return s;
    if (std::optional<v1::PodRecord> pod = tables_->Pod(c.pod_id())) {
      names_
          .Reserve(ContainerName(c.name(), pod->name(), pod->namespace_(), pod->uid(), c.attempt()),
                   c.id())
          .IgnoreError();
    }
  }
  return absl::OkStatus();
}

void RuntimeCore::Recover() {
  for (const v1::ContainerRecord& c : tables_->Containers()) RecoverContainer(c);
  for (const v1::PodRecord& pod : tables_->Pods()) RecoverPod(pod);
  RemoveLeftovers();
}

void RuntimeCore::RecoverContainer(v1::ContainerRecord c) {
  IdLocks::Held lock = locks_->Lock(c.id());
  auto report = [&](const char* what, const absl::Status& s) {
    Log(s.ok() ? LogLevel::kInfo : LogLevel::kWarn, what,
        {{"container", c.id()}, {"error", s.ok() ? "" : std::string(s.message())}});
  };
  switch (c.state()) {
    case v1::CONTAINER_STATE_CREATING: {
      // Interrupted before it was made: roll back.
      absl::Status s = deps_.snapshotter.Remove(c.id());
      if (s.ok()) s = tables_->DeleteContainer(c.id());
      if (s.ok()) {
        container_ids_.Remove(c.id());
        if (std::optional<v1::PodRecord> pod = tables_->Pod(c.pod_id())) {
          names_.Release(
              ContainerName(c.name(), pod->name(), pod->namespace_(), pod->uid(), c.attempt()));
        }
      }
      report("recovery: rolled back a container creation", s);
      return;
    }
    case v1::CONTAINER_STATE_REMOVING:
      report("recovery: finished removing a container", RemoveContainerLocked(c));
      return;
    case v1::CONTAINER_STATE_CREATED: {
      // A start may have reached the shim before the daemon died.
      absl::StatusOr<ContainerRunState> run =
          deps_.backend.InspectContainer(PodDir(c.pod_id()), c.id());
      if (!run.ok()) return;
      c.set_pid(run->pid);
      c.set_state(v1::CONTAINER_STATE_RUNNING);
      tables_->Put(c).IgnoreError();
      Refresh(c);
      report("recovery: adopted a container started before the restart", absl::OkStatus());
      return;
    }
    case v1::CONTAINER_STATE_STOPPING:
      report("recovery: finished stopping a container",
             StopContainerLocked(c, absl::ZeroDuration()));
      return;
    case v1::CONTAINER_STATE_RUNNING:
      Refresh(c);
      return;
    default:
      return;
  }
}

void RuntimeCore::RecoverPod(const v1::PodRecord& pod) {
  IdLocks::Held lock = locks_->Lock(pod.id());
  absl::Status s;
  switch (pod.state()) {
    case v1::POD_STATE_CREATING: {
      v1::PodRecord half = pod;
      DetachNetwork(half).IgnoreError();
      s = DestroyPod(pod);
      if (s.ok()) {
        std::error_code ec;
        std::filesystem::remove_all(PodDir(pod.id()), ec);
        s = tables_->DeletePod(pod.id());
        pod_ids_.Remove(pod.id());
        names_.Release(SandboxName(pod.name(), pod.namespace_(), pod.uid(), pod.attempt()));
      }
      Log(LogLevel::kInfo, "recovery: rolled back a pod sandbox creation",
          {{"pod", pod.id()}, {"error", std::string(s.message())}});
      return;
    }
    case v1::POD_STATE_STOPPING:
      s = StopPodLocked(pod);
      break;
    case v1::POD_STATE_REMOVING:
      s = RemovePodLocked(pod);
      break;
    case v1::POD_STATE_READY:
      if (!pod.network_state().empty()) {
        // The plugins' own view of what they made, with what was saved at ADD (CNI CHECK).
        absl::Status checked = deps_.network.Check(NetworkRequestOf(pod), pod.network_state());
        if (checked.ok()) {
          Log(LogLevel::kInfo, "recovery: the pod's network checks out", {{"pod", pod.id()}});
        } else {
          Log(LogLevel::kWarn, "recovery: the pod's network does not check out",
              {{"pod", pod.id()}, {"error", std::string(checked.message())}});
        }
      }
      if (!deps_.backend.PodAlive(pod.id(), PodDir(pod.id()))) {
        v1::PodRecord lost = pod;
        lost.set_state(v1::POD_STATE_NOT_READY);
        lost.set_message("the pod's shim was gone when stockaded started");
        s = tables_->Put(lost);
        Log(LogLevel::kWarn, "recovery: a pod's shim is gone; the pod is NOT_READY",
            {{"pod", pod.id()}});
      }
      return;
    default:
      return;
  }
  if (!s.ok()) {
    Log(LogLevel::kWarn, "recovery: a pod could not be reconciled",
        {{"pod", pod.id()}, {"error", std::string(s.message())}});
  }
}

void RuntimeCore::RemoveLeftovers() {
  std::error_code ec;
  for (const auto& entry :
       std::filesystem::directory_iterator(absl::StrCat(options_.run_dir, "/pods"), ec)) {
    const std::string id = entry.path().filename().string();
    if (tables_->Pod(id)) continue;
    absl::Status s = deps_.backend.DestroyPod(id, entry.path().string());
    std::error_code rm;
    std::filesystem::remove_all(entry.path(), rm);
    Log(LogLevel::kInfo, "recovery: removed a pod directory no record owns",
        {{"pod", id}, {"error", std::string(s.message())}});
  }
  absl::StatusOr<std::vector<std::string>> keys = deps_.snapshotter.List();
  if (!keys.ok()) return;
  for (const std::string& key : *keys) {
    if (tables_->Container(key)) continue;
    absl::Status s = deps_.snapshotter.Remove(key);
    Log(LogLevel::kInfo, "recovery: removed a snapshot no container owns",
        {{"snapshot", key}, {"error", std::string(s.message())}});
  }
}

}  // namespace stockade
