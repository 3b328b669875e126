// Exec, Attach and PortForward: checked here (containerd's rules), then a single-use URL on
// the streaming server, which does the work when the client comes.
#include "absl/strings/str_cat.h"
#include "cri/runtime_service.h"
#include "runtime/runtime_core.h"
#include "streaming/streaming_server.h"

namespace stockade {
namespace {

absl::Status CheckStreams(bool tty, bool stdin, bool stdout, bool stderr) {
  if (tty && stderr) {
    return absl::InvalidArgumentError(
        "tty and stderr cannot both be true: a terminal has no separate stderr");
  }
  if (!stdin && !stdout && !stderr) {
    return absl::InvalidArgumentError("one of stdin, stdout and stderr must be true");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RuntimeServiceImpl::DoExec(const runtime::v1::ExecRequest& request,
                                        runtime::v1::ExecResponse& response) {
  if (request.container_id().empty()) return absl::InvalidArgumentError("container_id is required");
  if (request.cmd().empty()) return absl::InvalidArgumentError("cmd must name a command to run");
  if (absl::Status s =
          CheckStreams(request.tty(), request.stdin(), request.stdout(), request.stderr());
      !s.ok()) {
    return s;
  }
  absl::StatusOr<ContainerView> c =
      core_.RunningContainer(request.container_id(), "commands run in");
  if (!c.ok()) return c.status();
  StreamRequest r;
  r.kind = StreamKind::kExec;
  r.container_id = c->id;
  r.cmd.assign(request.cmd().begin(), request.cmd().end());
  r.tty = request.tty();
  r.stdin = request.stdin();
  r.stdout = request.stdout();
  r.stderr = request.stderr();
  absl::StatusOr<std::string> url = streaming_.Register(std::move(r));
  if (!url.ok()) return url.status();
  response.set_url(*url);
  return absl::OkStatus();
}

absl::Status RuntimeServiceImpl::DoAttach(const runtime::v1::AttachRequest& request,
                                          runtime::v1::AttachResponse& response) {
  if (request.container_id().empty()) return absl::InvalidArgumentError("container_id is required");
  if (absl::Status s =
          CheckStreams(request.tty(), request.stdin(), request.stdout(), request.stderr());
      !s.ok()) {
    return s;
  }
  absl::StatusOr<ContainerView> c =
      core_.RunningContainer(request.container_id(), "clients attach to");
  if (!c.ok()) return c.status();
  StreamRequest r;
  r.kind = StreamKind::kAttach;
  r.container_id = c->id;
  // The container's own terminal decides, whatever the request says (as containerd).
  r.tty = c->tty;
  r.stdin = request.stdin();
  r.stdout = request.stdout();
  r.stderr = request.stderr() && !c->tty;
  absl::StatusOr<std::string> url = streaming_.Register(std::move(r));
  if (!url.ok()) return url.status();
  response.set_url(*url);
  return absl::OkStatus();
}

absl::Status RuntimeServiceImpl::DoPortForward(const runtime::v1::PortForwardRequest& request,
                                               runtime::v1::PortForwardResponse& response) {
  if (request.pod_sandbox_id().empty()) {
    return absl::InvalidArgumentError("pod_sandbox_id is required");
  }
  for (int32_t port : request.port()) {
    if (port <= 0 || port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("port ", port, " is not in 1-65535"));
    }
  }
  absl::StatusOr<PodSandboxView> pod = core_.ReadyPod(request.pod_sandbox_id());
  if (!pod.ok()) return pod.status();
  StreamRequest r;
  r.kind = StreamKind::kPortForward;
  r.pod_id = pod->id;
  r.ports.assign(request.port().begin(), request.port().end());
  absl::StatusOr<std::string> url = streaming_.Register(std::move(r));
  if (!url.ok()) return url.status();
  response.set_url(*url);
  return absl::OkStatus();
}

}  // namespace stockade
