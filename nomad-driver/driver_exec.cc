// ExecTask (collected output) and ExecTaskStreaming (`nomad alloc exec`, with a terminal when
// asked): commands run in the task's container through its pod's shim, as CRI exec does.
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "nomad-driver/driver_service.h"
#include "nomad-driver/driver_tasks.h"
#include "nomad-driver/plugin_errors.h"
#include "runtime/process_stream.h"

namespace stockade::nomad {
namespace proto = hashicorp::nomad::plugins::drivers::proto;

namespace {

using ExecStream =
    grpc::ServerReaderWriter<proto::ExecTaskStreamingResponse, proto::ExecTaskStreamingRequest>;

// Writes all of `data` to the non-blocking `fd`, waiting for room; false once it is closed.
bool WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, 1000);
      continue;
    }
    return false;
  }
  return true;
}

// The client's side: stdin and terminal sizes, until it half-closes or the call ends.
void ForwardInput(ExecStream* stream, ProcessStream& process, absl::Mutex& input_mu,
                  absl::Notification& done) {
  proto::ExecTaskStreamingRequest req;
  while (stream->Read(&req)) {
    if (req.has_tty_size() && req.tty_size().width() > 0 && req.tty_size().height() > 0) {
      process
          .Resize(static_cast<uint16_t>(req.tty_size().width()),
                  static_cast<uint16_t>(req.tty_size().height()))
          .IgnoreError();
    }
    if (req.has_stdin()) {
      absl::MutexLock lock(&input_mu);
      if (!process.input) continue;
      if (!req.stdin().data().empty() && !WriteAll(process.input.get(), req.stdin().data())) {
        process.input.Reset();
      }
      if (req.stdin().close()) process.input.Reset();
    }
  }
  done.Notify();
}

// Copies the command's output to the client until both outputs end and the command is done.
void ForwardOutput(ExecStream* stream, ProcessStream& process) {
  bool out_open = static_cast<bool>(process.output), err_open = static_cast<bool>(process.errors);
  char buf[32 * 1024];
  while (out_open || err_open) {
    pollfd fds[3];
    int n = 0;
    if (out_open) fds[n++] = {process.output.get(), POLLIN, 0};
    if (err_open) fds[n++] = {process.errors.get(), POLLIN, 0};
    fds[n++] = {process.done.get(), POLLIN, 0};
    if (::poll(fds, n, 1000) < 0 && errno != EINTR) break;
    bool command_done = (fds[n - 1].revents & (POLLIN | POLLHUP)) != 0;
    for (int i = 0; i < n - 1; ++i) {
      const bool is_out = out_open && fds[i].fd == process.output.get();
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const ssize_t got = ::read(fds[i].fd, buf, sizeof(buf));
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      proto::ExecTaskStreamingResponse resp;
      proto::ExecTaskStreamingIOOperation* op =
          is_out ? resp.mutable_stdout() : resp.mutable_stderr();
      if (got > 0) {
        op->set_data(buf, static_cast<size_t>(got));
      } else {
        // EOF (or EIO from a terminal whose last holder closed it): the stream is over.
        op->set_close(true);
        (is_out ? out_open : err_open) = false;
      }
      if (!stream->Write(resp)) return;
    }
    // A terminal stays open while a background process of the session holds it; once the
    // command is done, what is left is read until nothing comes.
    if (command_done && n > 1) {
      bool any = false;
      for (int i = 0; i < n - 1; ++i) any |= (fds[i].revents & POLLIN) != 0;
      if (!any) break;
    }
  }
}

}  // namespace

grpc::Status DriverService::ExecTask(Ctx*, const proto::ExecTaskRequest* req,
                                     proto::ExecTaskResponse* resp) {
  absl::StatusOr<TaskRecord> task = plugin_.Find(req->task_id());
  if (!task.ok()) return ToPluginStatus(task.status());
  absl::StatusOr<RuntimeCore*> core = CoreOf(plugin_);
  if (!core.ok()) return ToPluginStatus(core.status());
  const std::vector<std::string> argv(req->command().begin(), req->command().end());
  absl::Duration timeout =
      absl::Seconds(req->timeout().seconds()) + absl::Nanoseconds(req->timeout().nanos());
  if (timeout <= absl::ZeroDuration()) timeout = absl::Hours(24);  // "run until it ends"
  absl::StatusOr<ExecOutput> out = (*core)->ExecSync(task->container_id, argv, timeout);
  if (!out.ok()) return ToPluginStatus(out.status());
  resp->set_stdout(out->stdout_bytes);
  resp->set_stderr(out->stderr_bytes);
  resp->mutable_result()->set_exit_code(out->timed_out ? 124 : out->exit_code);
  return grpc::Status::OK;
}

grpc::Status DriverService::ExecTaskStreaming(Ctx* ctx, ExecStream* stream) {
  proto::ExecTaskStreamingRequest first;
  if (!stream->Read(&first)) return grpc::Status::OK;
  if (!first.has_setup() || first.setup().command().empty()) {
    return ToPluginStatus(absl::InvalidArgumentError(
        "the first ExecTaskStreaming message must be a setup with a command"));
  }
  const proto::ExecTaskStreamingRequest::Setup& setup = first.setup();
  absl::StatusOr<TaskRecord> task = plugin_.Find(setup.task_id());
  if (!task.ok()) return ToPluginStatus(task.status());
  absl::StatusOr<RuntimeCore*> core = CoreOf(plugin_);
  if (!core.ok()) return ToPluginStatus(core.status());
  const std::vector<std::string> argv(setup.command().begin(), setup.command().end());
  absl::StatusOr<std::unique_ptr<ProcessStream>> process =
      (*core)->ExecStream(task->container_id, argv, setup.tty(), /*stdin=*/true);
  if (!process.ok()) return ToPluginStatus(process.status());

  absl::Mutex input_mu;
  absl::Notification input_done;
  std::thread input(ForwardInput, stream, std::ref(**process), std::ref(input_mu),
                    std::ref(input_done));
  ForwardOutput(stream, **process);
  // Waits for the command itself, whatever its outputs did.
  pollfd done{(*process)->done.get(), POLLIN, 0};
  while (!ctx->IsCancelled() && ::poll(&done, 1, 1000) == 0) {
  }
  absl::StatusOr<int> exit_code = (*process)->Result();
  proto::ExecTaskStreamingResponse last;
  last.set_exited(true);
  last.mutable_result()->set_exit_code(exit_code.ok() ? *exit_code : 255);
  stream->Write(last, grpc::WriteOptions().set_write_through());
  // The client half-closes once it has the result; one that does not is cut off.
  if (!input_done.WaitForNotificationWithTimeout(absl::Seconds(2))) ctx->TryCancel();
  input.join();
  {
    absl::MutexLock lock(&input_mu);
    (*process)->input.Reset();
  }
  if (!exit_code.ok()) return ToPluginStatus(exit_code.status());
  return grpc::Status::OK;
}

}  // namespace stockade::nomad
