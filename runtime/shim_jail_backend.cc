#include "runtime/shim_jail_backend.h"

#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/errors.h"

namespace stockade {
namespace {

// A streamed session through the pod's shim: an exec session's command, or an attachment.
class ShimProcessStream final : public ProcessStream {
 public:
  ShimProcessStream(ShimStream s, std::string dir, std::string container_id, bool exec_tty,
                    bool container_tty)
      : dir_(std::move(dir)),
        container_id_(std::move(container_id)),
        exec_tty_(exec_tty),
        container_tty_(container_tty) {
    input = std::move(s.input);
    output = std::move(s.output);
    errors = std::move(s.errors);
    done = std::move(s.done);
  }

  absl::StatusOr<int> Result() override { return ShimClient::ReadStreamEnd(done.get()); }

  absl::Status Resize(uint16_t width, uint16_t height) override {
    if (exec_tty_) {
      // The exec session's terminal is ours: its master is `output`.
      winsize size{};
      size.ws_col = width;
      size.ws_row = height;
      if (::ioctl(output.get(), TIOCSWINSZ, &size) != 0) {
        return ErrnoError(errno, "resize the exec session's terminal");
      }
      return absl::OkStatus();
    }
    if (!container_tty_) return absl::FailedPreconditionError("the container has no terminal");
    absl::StatusOr<std::unique_ptr<ShimClient>> client = ShimClient::Connect(dir_);
    if (!client.ok()) return client.status();
    return (*client)->ResizeTerminal(container_id_, width, height);
  }

 private:
  std::string dir_, container_id_;
  bool exec_tty_, container_tty_;
};

}  // namespace

bool ShimGone(const absl::Status& s) { return absl::IsUnavailable(s) || absl::IsNotFound(s); }

ShimProcessSpec CommonProcessSpec(const ProcessIdentity& p) {
  ShimProcessSpec s;
  s.argv = p.argv;
  s.env = p.env;
  s.cwd = p.cwd.empty() ? "/" : p.cwd;
  s.uid = p.uid;
  s.gid = p.gid;
  s.additional_gids = p.additional_gids;
  return s;
}

ShimContainerSpec CommonContainerSpec(const ContainerLaunch& launch, ShimProcessSpec process) {
  ShimContainerSpec spec;
  spec.rootfs = launch.jail.rootfs;
  spec.process = std::move(process);
  spec.read_only_rootfs = launch.jail.read_only_rootfs;
  spec.privileged = launch.jail.privileged;
  spec.hostname_file = launch.hostname_file;
  spec.hosts_file = launch.hosts_file;
  spec.resolv_conf_file = launch.resolv_conf_file;
  spec.stdin = launch.stdin;
  spec.stdin_once = launch.stdin_once;
  spec.stdout_path = launch.stdout_path;
  spec.stderr_path = launch.stderr_path;
  spec.tty = launch.tty;
  return spec;
}

absl::Status ShimJailBackend::DestroyPod(const std::string& pod_id, const std::string& dir) {
  absl::StatusOr<std::unique_ptr<ShimClient>> client = ShimClient::Connect(dir);
  if (client.ok()) {
    const absl::Status shutdown = (*client)->Shutdown();
    if (!shutdown.ok() && !ShimGone(shutdown)) return shutdown;
    if (shutdown.ok()) {
      // The shim answers, then tears its namespaces down and unlinks its socket as its last
      // act: until then it may still write in the pod's directory, which the caller removes
      // next. (A shim that died mid-call unlinks nothing: no wait for it.)
      const std::string socket = absl::StrCat(dir, "/shim.sock");
      const absl::Time deadline = absl::Now() + absl::Seconds(2);
      struct stat st;
      while (::lstat(socket.c_str(), &st) == 0 && absl::Now() < deadline) {
        absl::SleepFor(absl::Microseconds(500));
      }
    }
  }
  return AfterPodShutdown(pod_id);
}

absl::StatusOr<pid_t> ShimJailBackend::StartContainer(const std::string& dir,
                                                      const ContainerLaunch& launch) {
  absl::StatusOr<std::unique_ptr<ShimClient>> client = ShimClient::Connect(dir);
  if (!client.ok()) return client.status();
  absl::StatusOr<ShimContainerSpec> spec = ContainerSpecOf(dir, launch);
  if (!spec.ok()) return spec.status();
  return (*client)->StartContainer(launch.jail.container_id, launch.log_path, *spec);
}

bool ShimJailBackend::PodAlive(const std::string& pod_id, const std::string& dir) {
  return ShimClient::Connect(dir).ok();
}

absl::Status ShimJailBackend::SignalContainer(const std::string& dir, const std::string& id,
                                              int signal) {
  absl::StatusOr<std::unique_ptr<ShimClient>> client = ShimClient::Connect(dir);
  if (!client.ok()) return client.status();
  return (*client)->Kill(id, signal);
}

absl::StatusOr<ContainerRunState> ShimJailBackend::InspectContainer(const std::string& dir,
                                                                    const std::string& id) {
  absl::StatusOr<std::unique_ptr<ShimClient>> client = ShimClient::Connect(dir);
  if (!client.ok()) return client.status();
  absl::StatusOr<ShimContainerState> state = (*client)->State(id);
  if (!state.ok()) return state.status();
  ContainerRunState run;
  run.running = state->running;
  run.pid = state->pid;
  run.exit = {state->exit_code, state->signal, state->finished_at_unix_nano};
  return run;
}

absl::Status ShimJailBackend::ForgetContainer(const std::string& dir, const std::string& id) {
  absl::StatusOr<std::unique_ptr<ShimClient>> client = ShimClient::Connect(dir);
  if (!client.ok()) return absl::OkStatus();  // nothing kept by a shim that is gone
  absl::Status s = (*client)->Forget(id);
  return absl::IsNotFound(s) ? absl::OkStatus() : s;
}

absl::Status ShimJailBackend::ReopenLog(const std::string& dir, const std::string& id) {
  absl::StatusOr<std::unique_ptr<ShimClient>> client = ShimClient::Connect(dir);
  if (!client.ok()) return client.status();
  return (*client)->ReopenLog(id);
}

absl::StatusOr<ExecOutput> ShimJailBackend::Exec(const std::string& dir, const std::string& id,
                                                 const ProcessIdentity& identity,
                                                 absl::Duration timeout) {
  absl::StatusOr<std::unique_ptr<ShimClient>> client = ShimClient::Connect(dir);
  if (!client.ok()) return client.status();
  absl::StatusOr<ShimProcessSpec> process = ProcessOf(identity);
  if (!process.ok()) return process.status();
  absl::StatusOr<ShimExecResult> r = (*client)->Exec(id, *process, timeout, kMaxExecOutput);
  if (!r.ok()) return r.status();
  return ExecOutput{std::move(r->stdout_bytes), std::move(r->stderr_bytes), r->exit_code,
                    r->timed_out, r->truncated};
}

bool ShimJailBackend::HasExited(const std::string& dir, const std::string& id) {
  return ::access(absl::StrCat(dir, "/", id, ".exit").c_str(), F_OK) == 0;
}

absl::StatusOr<std::unique_ptr<ProcessStream>> ShimJailBackend::ExecStream(
    const std::string& dir, const std::string& id, const ProcessIdentity& identity, bool tty,
    bool stdin) {
  absl::StatusOr<std::unique_ptr<ShimClient>> client = ShimClient::Connect(dir);
  if (!client.ok()) return client.status();
  absl::StatusOr<ShimProcessSpec> process = ProcessOf(identity);
  if (!process.ok()) return process.status();
  absl::StatusOr<ShimStream> s = (*client)->OpenExec(id, *process, tty, stdin);
  if (!s.ok()) return s.status();
  return std::make_unique<ShimProcessStream>(*std::move(s), dir, id, tty, false);
}

absl::StatusOr<std::unique_ptr<ProcessStream>> ShimJailBackend::Attach(const std::string& dir,
                                                                       const std::string& id,
                                                                       bool tty, bool stdin,
                                                                       bool stdout, bool stderr) {
  absl::StatusOr<std::unique_ptr<ShimClient>> client = ShimClient::Connect(dir);
  if (!client.ok()) return client.status();
  absl::StatusOr<ShimStream> s = (*client)->Attach(id, stdin, stdout, stderr && !tty);
  if (!s.ok()) return s.status();
  return std::make_unique<ShimProcessStream>(*std::move(s), dir, id, false, tty);
}

}  // namespace stockade
