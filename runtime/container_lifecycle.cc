// RuntimeCore: a container's life after CreateContainer — start, stop, exits, removal, status,
// listing, resource updates, log reopening and ExecSync.
#include <signal.h>

#include <filesystem>
#include <map>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "runtime/core_tables.h"
#include "runtime/id_locks.h"
#include "runtime/runtime_core.h"
#include "runtime/snapshot/snapshotter.h"
#include "runtime/step_times.h"
#include "runtime/stop_signal.h"

namespace stockade {

absl::Status ValidateResources(const ResourceLimits& limits);  // container_create.cc

namespace {

// Checked at CreateContainer; a record made before that check falls back to SIGTERM.
int StopSignalNumber(const std::string& name) { return ParseStopSignal(name).value_or(SIGTERM); }

ContainerView ToView(const v1::ContainerRecord& r) {
  ContainerView v;
  v.id = r.id();
  v.pod_id = r.pod_id();
  v.name = r.name();
  v.attempt = r.attempt();
  v.state = FromRecord(r.state());
  v.image = r.image();
  v.image_ref = r.image_ref();
  v.image_id = r.image_id();
  v.created_at_unix_nano = r.created_at_unix_nano();
  v.started_at_unix_nano = r.started_at_unix_nano();
  v.finished_at_unix_nano = r.finished_at_unix_nano();
  v.exit_code = r.exit_code();
  v.reason = r.reason();
  v.message = r.message();
  v.labels.insert(r.labels().begin(), r.labels().end());
  v.annotations.insert(r.annotations().begin(), r.annotations().end());
  v.log_path = r.log_path();
  for (const v1::MountRecord& m : r.mounts()) v.mounts.push_back(FromRecord(m));
  v.limits = FromRecord(r.resources());
  v.pid = r.pid();
  return v;
}

}  // namespace

// Also the identity of streamed exec sessions (container_streams.cc).
ProcessIdentity IdentityOf(const v1::ProcessRecord& p) {
  ProcessIdentity id;
  id.argv.assign(p.argv().begin(), p.argv().end());
  id.env.assign(p.env().begin(), p.env().end());
  id.cwd = p.cwd();
  id.uid = p.uid();
  id.gid = p.gid();
  id.additional_gids.assign(p.additional_gids().begin(), p.additional_gids().end());
  id.capabilities.assign(p.capabilities().begin(), p.capabilities().end());
  id.no_new_privs = p.no_new_privs();
  id.seccomp = p.seccomp() == "runtime/default" ? SeccompMode::kRuntimeDefault
               : p.seccomp() == "localhost"     ? SeccompMode::kLocalhost
                                                : SeccompMode::kUnconfined;
  id.seccomp_profile = p.seccomp_profile();
  return id;
}

namespace {

bool Live(const v1::ContainerRecord& c) {
  return c.state() == v1::CONTAINER_STATE_RUNNING || c.state() == v1::CONTAINER_STATE_STOPPING;
}

}  // namespace

absl::StatusOr<std::string> RuntimeCore::ResolveContainer(const std::string& id) const {
  absl::StatusOr<std::string> full = container_ids_.Resolve(id);
  if (absl::IsNotFound(full.status())) {
    return absl::NotFoundError(absl::StrCat("container ", id, " not found"));
  }
  return full;
}

absl::Status RuntimeCore::RecordExit(v1::ContainerRecord& c, const ContainerExit& exit) {
  c.set_state(v1::CONTAINER_STATE_EXITED);
  c.set_exit_code(exit.exit_code);
  c.set_finished_at_unix_nano(exit.finished_at_unix_nano != 0 ? exit.finished_at_unix_nano
                                                              : absl::GetCurrentTimeNanos());
  absl::StatusOr<int64_t> oom_kills = deps_.limiter.OomKills(c.cgroup_path());
  if (oom_kills.ok() && *oom_kills > 0) {
    c.set_reason("OOMKilled");
  } else {
    c.set_reason(exit.exit_code == 0 ? "Completed" : "Error");
  }
  if (absl::Status s = tables_->Put(c); !s.ok()) return s;
  Emit(c, ContainerEventType::kStopped);
  return absl::OkStatus();
}

void RuntimeCore::Emit(const v1::ContainerRecord& c, ContainerEventType type) {
  events_.Publish({c.id(), c.pod_id(), type, absl::GetCurrentTimeNanos()});
}

void RuntimeCore::WatchExits(absl::Duration interval) {
  if (watcher_.joinable()) return;
  watcher_ = std::thread([this, interval] {
    while (!stop_watching_.WaitForNotificationWithTimeout(interval)) {
      for (const v1::ContainerRecord& listed : tables_->Containers()) {
        if (listed.state() != v1::CONTAINER_STATE_RUNNING) continue;
        if (!deps_.backend.HasExited(PodDir(listed.pod_id()), listed.id())) continue;
        // Recorded under the container's lock, as any other path that notices the exit.
        IdLocks::Held lock = locks_->TryLock(listed.id());
        if (!lock.held()) continue;  // a call in progress will notice it
        std::optional<v1::ContainerRecord> c = tables_->Container(listed.id());
        if (c) Refresh(*c);
      }
    }
  });
}

void RuntimeCore::Refresh(v1::ContainerRecord& c) {
  if (!Live(c)) return;
  absl::StatusOr<ContainerRunState> run =
      deps_.backend.InspectContainer(PodDir(c.pod_id()), c.id());
  if (run.ok() && run->running) return;
  if (run.ok()) {
    RecordExit(c, run->exit).IgnoreError();
    return;
  }
  // The shim is gone and left no exit record: nobody can tell how the process ended.
  c.set_state(v1::CONTAINER_STATE_UNKNOWN);
  c.set_reason("Unknown");
  c.set_message(absl::StrCat("the pod's shim is gone: ", run.status().message()));
  tables_->Put(c).IgnoreError();
}

absl::Status RuntimeCore::StartContainer(const std::string& id_prefix) {
  StepTimes steps;
  absl::StatusOr<std::string> id = ResolveContainer(id_prefix);
  if (!id.ok()) return id.status();
  IdLocks::Held lock = locks_->Lock(*id);
  std::optional<v1::ContainerRecord> c = tables_->Container(*id);
  if (!c) return absl::NotFoundError(absl::StrCat("container ", id_prefix, " not found"));
  if (absl::Status s = CheckContainerTransition(FromRecord(c->state()), ContainerState::kRunning);
      !s.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("container ", *id, " is ",
                                                      ContainerStateName(FromRecord(c->state())),
                                                      ": only a CREATED container can start"));
  }
  std::optional<v1::PodRecord> pod = tables_->Pod(c->pod_id());
  if (!pod || pod->state() != v1::POD_STATE_READY) {
    return absl::FailedPreconditionError(
        absl::StrCat("pod sandbox ", c->pod_id(), " of container ", *id, " is not ready"));
  }
  const std::string dir = PodDir(pod->id());
  ContainerLaunch launch;
  launch.jail.pod_id = pod->id();
  launch.jail.container_id = *id;
  launch.jail.rootfs = c->rootfs();
  launch.jail.linux_image = c->image_os() == "linux";
  launch.jail.read_only_rootfs = c->process().read_only_rootfs();
  launch.jail.privileged = c->process().privileged();
  for (const v1::MountRecord& m : c->mounts()) launch.jail.mounts.push_back(FromRecord(m));
  launch.jail.limits = FromRecord(c->resources());
  launch.process = IdentityOf(c->process());
  launch.log_path = c->log_path().empty() ? "/dev/null" : c->log_path();
  launch.hostname_file = dir + "/hostname";
  launch.hosts_file = dir + "/hosts";
  launch.resolv_conf_file = dir + "/resolv.conf";
  launch.masked_paths.assign(c->process().masked_paths().begin(),
                             c->process().masked_paths().end());
  launch.readonly_paths.assign(c->process().readonly_paths().begin(),
                               c->process().readonly_paths().end());
  launch.pid_mode = static_cast<NamespaceMode>(c->pid_mode());
  if (launch.pid_mode == NamespaceMode::kTarget) {
    std::optional<v1::ContainerRecord> target = tables_->Container(c->target_id());
    if (!target || target->state() != v1::CONTAINER_STATE_RUNNING) {
      return absl::FailedPreconditionError(absl::StrCat(
          "container ", c->target_id(), " whose PID namespace this one joins is not running"));
    }
    launch.target_pid = target->pid();
    launch.target_id = target->id();
  }
  launch.resource_scope = c->cgroup_path();
  if (c->process().has_oom_score_adj()) launch.oom_score_adj = c->process().oom_score_adj();
  launch.stdin = c->stdin();
  launch.stdin_once = c->stdin_once();
  launch.tty = c->tty();
  launch.stdout_path = c->stdout_path();
  launch.stderr_path = c->stderr_path();

  // Taken before the process exists: a process that ends at once must not have finished
  // before it started.
  const int64_t started_at = absl::GetCurrentTimeNanos();
  absl::StatusOr<pid_t> pid = [&]() -> absl::StatusOr<pid_t> {
    if (!c->log_path().empty()) {
      // kubelet makes the pod's log directory; a container's own subdirectory is ours to make.
      std::error_code ec;
      std::filesystem::create_directories(std::filesystem::path(c->log_path()).parent_path(), ec);
      if (ec) {
        return absl::FailedPreconditionError(
            absl::StrCat("cannot create the log directory of ", c->log_path(), ": ", ec.message()));
      }
    }
    steps.Mark("prepare");
    if (absl::Status s = deps_.limiter.Create(c->cgroup_path(), launch.jail.limits); !s.ok()) {
      return s;
    }
    steps.Mark("scope");
    absl::StatusOr<pid_t> started = deps_.backend.StartContainer(dir, launch);
    steps.Mark("jail");
    return started;
  }();
  if (!pid.ok()) {
    // As containerd: the container is EXITED with reason StartError and the error.
    c->set_state(v1::CONTAINER_STATE_EXITED);
    c->set_exit_code(128);
    c->set_reason("StartError");
    c->set_message(std::string(pid.status().message()));
    c->set_finished_at_unix_nano(absl::GetCurrentTimeNanos());
    tables_->Put(*c).IgnoreError();
    Emit(*c, ContainerEventType::kStopped);
    return pid.status();
  }
  c->set_pid(*pid);
  c->set_started_at_unix_nano(started_at);
  c->set_state(v1::CONTAINER_STATE_RUNNING);
  if (absl::Status s = tables_->Put(*c); !s.ok()) return s;
  steps.Mark("running-record");
  Emit(*c, ContainerEventType::kStarted);
  if (LogEnabled(LogLevel::kDebug)) {
    Log(LogLevel::kDebug, "container started", {{"id", *id}, {"steps", steps.Summary()}});
  }
  return absl::OkStatus();
}

absl::Status RuntimeCore::StopContainerLocked(v1::ContainerRecord& c, absl::Duration timeout,
                                              int signal) {
  Refresh(c);
  if (c.state() == v1::CONTAINER_STATE_UNKNOWN) {
    return RecordExit(c, ContainerExit{255, 0, absl::GetCurrentTimeNanos()});
  }
  if (!Live(c)) return absl::OkStatus();  // CREATED, EXITED: nothing runs
  // The stop signal goes once, even when the RPC is repeated.
  const bool signalled = c.state() == v1::CONTAINER_STATE_STOPPING;
  if (!signalled) {
    c.set_state(v1::CONTAINER_STATE_STOPPING);
    if (absl::Status s = tables_->Put(c); !s.ok()) return s;
  }
  const std::string dir = PodDir(c.pod_id());
  auto wait_for_exit = [&](absl::Time deadline) -> std::optional<ContainerExit> {
    absl::Duration pause = absl::Milliseconds(1);
    while (true) {
      absl::StatusOr<ContainerRunState> run = deps_.backend.InspectContainer(dir, c.id());
      if (!run.ok()) return ContainerExit{255, 0, absl::GetCurrentTimeNanos()};
      if (!run->running) return run->exit;
      if (absl::Now() >= deadline) return std::nullopt;
      absl::SleepFor(pause);
      pause = std::min(pause * 2, absl::Milliseconds(50));
    }
  };
  std::optional<ContainerExit> exit;
  if (timeout > absl::ZeroDuration()) {
    if (!signalled) {
      absl::Status s = deps_.backend.SignalContainer(
          dir, c.id(), signal != 0 ? signal : StopSignalNumber(c.stop_signal()));
      if (!s.ok() && !absl::IsNotFound(s) && !absl::IsUnavailable(s)) return s;
    }
    exit = wait_for_exit(absl::Now() + timeout);
  }
  if (!exit) {
    if (absl::Status s = deps_.backend.SignalContainer(dir, c.id(), SIGKILL); !s.ok()) {
      if (!absl::IsNotFound(s) && !absl::IsUnavailable(s)) return s;
    }
    exit = wait_for_exit(absl::Now() + options_.kill_grace);
    if (!exit) {
      return absl::DeadlineExceededError(absl::StrCat("container ", c.id(), " did not end within ",
                                                      absl::FormatDuration(options_.kill_grace),
                                                      " of SIGKILL (a process in D state?)"));
    }
  }
  if (static_cast<NamespaceMode>(c.pid_mode()) != NamespaceMode::kContainer) {
    // Its init was no PID 1 whose death takes the rest: the children would outlive the stop.
    if (absl::Status s = deps_.limiter.KillAll(c.cgroup_path()); !s.ok()) return s;
  }
  return RecordExit(c, *exit);
}

absl::Status RuntimeCore::StopContainer(const std::string& id_prefix, absl::Duration timeout,
                                        int signal) {
  absl::StatusOr<std::string> id = ResolveContainer(id_prefix);
  if (!id.ok()) return id.status();
  IdLocks::Held lock = locks_->Lock(*id);
  std::optional<v1::ContainerRecord> c = tables_->Container(*id);
  if (!c) return absl::NotFoundError(absl::StrCat("container ", id_prefix, " not found"));
  return StopContainerLocked(*c, timeout, signal);
}

absl::Status RuntimeCore::SignalContainer(const std::string& id_prefix, int signal) {
  absl::StatusOr<std::string> id = ResolveContainer(id_prefix);
  if (!id.ok()) return id.status();
  IdLocks::Held lock = locks_->Lock(*id);
  std::optional<v1::ContainerRecord> c = tables_->Container(*id);
  if (!c) return absl::NotFoundError(absl::StrCat("container ", id_prefix, " not found"));
  Refresh(*c);
  if (!Live(*c)) {
    return absl::FailedPreconditionError(
        absl::StrCat("container ", *id, " is not running; there is nothing to signal"));
  }
  return deps_.backend.SignalContainer(PodDir(c->pod_id()), c->id(), signal);
}

absl::Status RuntimeCore::RemoveContainerLocked(v1::ContainerRecord c) {
  if (Live(c) || c.state() == v1::CONTAINER_STATE_UNKNOWN) {
    if (absl::Status s = StopContainerLocked(c, absl::ZeroDuration()); !s.ok()) return s;
  }
  c.set_state(v1::CONTAINER_STATE_REMOVING);
  if (absl::Status s = tables_->Put(c); !s.ok()) return s;
  if (absl::Status s = deps_.snapshotter.Remove(c.id()); !s.ok()) return s;
  if (absl::Status s = deps_.limiter.Remove(c.cgroup_path()); !s.ok()) return s;
  deps_.backend.ForgetContainer(PodDir(c.pod_id()), c.id()).IgnoreError();
  if (absl::Status s = tables_->DeleteContainer(c.id()); !s.ok()) return s;
  container_ids_.Remove(c.id());
  Emit(c, ContainerEventType::kDeleted);
  if (std::optional<v1::PodRecord> pod = tables_->Pod(c.pod_id())) {
    names_.Release(
        ContainerName(c.name(), pod->name(), pod->namespace_(), pod->uid(), c.attempt()));
  }
  return absl::OkStatus();
}

absl::Status RuntimeCore::RemoveContainer(const std::string& id_prefix) {
  absl::StatusOr<std::string> id = container_ids_.Resolve(id_prefix);
  if (absl::IsNotFound(id.status())) return absl::OkStatus();  // removing what is gone
  if (!id.ok()) return id.status();
  IdLocks::Held lock = locks_->Lock(*id);
  std::optional<v1::ContainerRecord> c = tables_->Container(*id);
  if (!c) return absl::OkStatus();
  return RemoveContainerLocked(*c);
}

absl::StatusOr<ContainerView> RuntimeCore::ContainerStatus(const std::string& id_prefix) {
  absl::StatusOr<std::string> id = ResolveContainer(id_prefix);
  if (!id.ok()) return id.status();
  // A stop in progress holds the lock for up to its timeout: report what the record says then
  // (RUNNING, as containerd does while stopping) rather than wait.
  IdLocks::Held lock = locks_->TryLock(*id);
  std::optional<v1::ContainerRecord> c = tables_->Container(*id);
  if (!c) return absl::NotFoundError(absl::StrCat("container ", id_prefix, " not found"));
  if (lock.held()) Refresh(*c);
  return ToView(*c);
}

std::vector<ContainerView> RuntimeCore::ListContainers(const ContainerFilter& filter) {
  std::vector<ContainerView> out;
  // kubelet lists every second or so: a running container whose shim recorded no exit is asked
  // nothing more, and each pod's shim is checked once per call, not once per container.
  std::map<std::string, bool> shim_alive;
  auto needs_refresh = [&](const v1::ContainerRecord& c) {
    const std::string dir = PodDir(c.pod_id());
    if (c.state() != v1::CONTAINER_STATE_RUNNING || deps_.backend.HasExited(dir, c.id())) {
      return true;
    }
    auto [it, added] = shim_alive.try_emplace(c.pod_id(), false);
    if (added) it->second = deps_.backend.PodAlive(c.pod_id(), dir);
    return !it->second;
  };
  for (v1::ContainerRecord& c : tables_->Containers()) {
    if (!absl::StartsWith(c.id(), filter.id) || !absl::StartsWith(c.pod_id(), filter.pod_id)) {
      continue;
    }
    if (c.state() == v1::CONTAINER_STATE_CREATING) continue;
    if (Live(c)) {
      IdLocks::Held lock = locks_->TryLock(c.id());
      std::optional<v1::ContainerRecord> current = tables_->Container(c.id());
      if (!current) continue;
      c = *current;
      if (lock.held() && needs_refresh(c)) Refresh(c);
    }
    ContainerView view = ToView(c);
    if (filter.state && view.state != *filter.state) continue;
    bool labels_match = true;
    for (const auto& [k, v] : filter.labels) {
      auto it = view.labels.find(k);
      labels_match = labels_match && it != view.labels.end() && it->second == v;
    }
    if (labels_match) out.push_back(std::move(view));
  }
  return out;
}

absl::Status RuntimeCore::UpdateContainerResources(const std::string& id_prefix,
                                                   const ResourceLimits& limits) {
  if (absl::Status s = ValidateResources(limits); !s.ok()) return s;
  absl::StatusOr<std::string> id = ResolveContainer(id_prefix);
  if (!id.ok()) return id.status();
  IdLocks::Held lock = locks_->Lock(*id);
  std::optional<v1::ContainerRecord> c = tables_->Container(*id);
  if (!c) return absl::NotFoundError(absl::StrCat("container ", id_prefix, " not found"));
  Refresh(*c);
  if (c->state() != v1::CONTAINER_STATE_CREATED && !Live(*c)) {
    return absl::FailedPreconditionError(
        absl::StrCat("container ", *id, " is ", ContainerStateName(FromRecord(c->state())),
                     ": resources can be updated only while it is created or running"));
  }
  if (Live(*c)) {
    if (absl::Status s = deps_.limiter.Update(c->cgroup_path(), limits); !s.ok()) return s;
  }
  *c->mutable_resources() = ToRecord(limits);
  return tables_->Put(*c);
}

absl::Status RuntimeCore::ReopenContainerLog(const std::string& id_prefix) {
  absl::StatusOr<std::string> id = ResolveContainer(id_prefix);
  if (!id.ok()) return id.status();
  IdLocks::Held lock = locks_->Lock(*id);
  std::optional<v1::ContainerRecord> c = tables_->Container(*id);
  if (!c) return absl::NotFoundError(absl::StrCat("container ", id_prefix, " not found"));
  Refresh(*c);
  if (c->state() != v1::CONTAINER_STATE_RUNNING) {
    return absl::FailedPreconditionError(
        absl::StrCat("container ", *id,
                     " is not running: only a running container's log "
                     "can be reopened"));
  }
  return deps_.backend.ReopenLog(PodDir(c->pod_id()), *id);
}

absl::StatusOr<ExecOutput> RuntimeCore::ExecSync(const std::string& id_prefix,
                                                 const std::vector<std::string>& argv,
                                                 absl::Duration timeout) {
  if (argv.empty()) return absl::InvalidArgumentError("cmd must name a command to run");
  absl::StatusOr<std::string> id = ResolveContainer(id_prefix);
  if (!id.ok()) return id.status();
  std::optional<v1::ContainerRecord> c;
  {
    // Never waits on the lock: a stop in progress holds it for its whole grace period, and
    // probes must still be answered meanwhile (containerd runs them in a stopping container).
    IdLocks::Held lock = locks_->TryLock(*id);
    c = tables_->Container(*id);
    if (!c) return absl::NotFoundError(absl::StrCat("container ", id_prefix, " not found"));
    if (lock.held()) Refresh(*c);
  }
  if (c->state() != v1::CONTAINER_STATE_RUNNING && c->state() != v1::CONTAINER_STATE_STOPPING) {
    return absl::FailedPreconditionError(
        absl::StrCat("container ", *id, " is ", ContainerStateName(FromRecord(c->state())),
                     ": commands can run only in a running container"));
  }
  ProcessIdentity identity = IdentityOf(c->process());
  identity.argv = argv;
  return deps_.backend.Exec(PodDir(c->pod_id()), *id, identity, timeout);
}

}  // namespace stockade
