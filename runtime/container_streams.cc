// The streaming server's way in: exec sessions with a client on the other end, attaching to a
// container's stdio, and connections to a pod's ports. Each checks the container (pod) the
// way the RPC that handed out the URL did: it may have ended in between.
#include "absl/strings/str_cat.h"
#include "runtime/core_tables.h"
#include "runtime/id_locks.h"
#include "runtime/runtime_core.h"

namespace stockade {

ProcessIdentity IdentityOf(const v1::ProcessRecord& p);  // container_lifecycle.cc

absl::StatusOr<ContainerView> RuntimeCore::RunningContainer(const std::string& id_prefix,
                                                            absl::string_view purpose) {
  absl::StatusOr<std::string> id = ResolveContainer(id_prefix);
  if (!id.ok()) return id.status();
  std::optional<v1::ContainerRecord> c;
  {
    IdLocks::Held lock = locks_->TryLock(*id);  // as ExecSync: a stop in progress holds it
    c = tables_->Container(*id);
    if (!c) return absl::NotFoundError(absl::StrCat("container ", id_prefix, " not found"));
    if (lock.held()) Refresh(*c);
  }
  if (c->state() != v1::CONTAINER_STATE_RUNNING && c->state() != v1::CONTAINER_STATE_STOPPING) {
    return absl::FailedPreconditionError(absl::StrCat("container ", *id, " is ",
                                                      ContainerStateName(FromRecord(c->state())),
                                                      ": ", purpose, " only a running container"));
  }
  ContainerView view;
  view.id = c->id();
  view.pod_id = c->pod_id();
  view.tty = c->tty();
  view.stdin = c->stdin();
  return view;
}

absl::StatusOr<std::unique_ptr<ProcessStream>> RuntimeCore::ExecStream(
    const std::string& id_prefix, const std::vector<std::string>& argv, bool tty, bool stdin) {
  if (argv.empty()) return absl::InvalidArgumentError("cmd must name a command to run");
  absl::StatusOr<ContainerView> c = RunningContainer(id_prefix, "commands run in");
  if (!c.ok()) return c.status();
  std::optional<v1::ContainerRecord> record = tables_->Container(c->id);
  if (!record) return absl::NotFoundError(absl::StrCat("container ", id_prefix, " not found"));
  ProcessIdentity identity = IdentityOf(record->process());
  identity.argv = argv;
  if (tty) {
    // As containerd: a terminal session names its terminal type unless the image does.
    bool has_term = false;
    for (const std::string& e : identity.env) has_term |= e.rfind("TERM=", 0) == 0;
    if (!has_term) identity.env.push_back("TERM=xterm");
  }
  return deps_.backend.ExecStream(PodDir(c->pod_id), c->id, identity, tty, stdin);
}

absl::StatusOr<std::unique_ptr<ProcessStream>> RuntimeCore::Attach(const std::string& id_prefix,
                                                                   bool stdin, bool stdout,
                                                                   bool stderr) {
  absl::StatusOr<ContainerView> c = RunningContainer(id_prefix, "clients attach to");
  if (!c.ok()) return c.status();
  if (stdin && !c->stdin) {
    return absl::InvalidArgumentError(absl::StrCat(
        "container ", c->id, " was created without stdin: attach without stdin instead"));
  }
  return deps_.backend.Attach(PodDir(c->pod_id), c->id, c->tty, stdin, stdout, stderr);
}

absl::StatusOr<PodSandboxView> RuntimeCore::ReadyPod(const std::string& id_prefix) {
  absl::StatusOr<PodSandboxView> pod = PodStatus(id_prefix);
  if (!pod.ok()) return pod.status();
  if (pod->state != PodState::kReady) {
    return absl::FailedPreconditionError(
        absl::StrCat("pod sandbox ", pod->id, " is not ready: no port forward into it"));
  }
  return pod;
}

absl::StatusOr<UniqueFd> RuntimeCore::DialPod(const std::string& pod_id, int port) {
  if (port <= 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("port ", port, " is not in 1-65535"));
  }
  absl::StatusOr<PodSandboxView> pod = ReadyPod(pod_id);
  if (!pod.ok()) return pod.status();
  return deps_.backend.DialPod(pod->id, pod->network == NamespaceMode::kNode, port);
}

}  // namespace stockade
