// ExecTaskStreaming (`nomad alloc exec`): a command in the task's container with the client on
// its stdin, stdout and stderr, on a terminal when asked. A callback-API reactor: the client
// (Nomad's) never half-closes, so the call must end from here once the result is out. One
// thread per session moves the command's output (and buffered input) between the descriptors
// and the stream; the reactor's callbacks never block.
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <deque>
#include <optional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "nomad-driver/driver_service.h"
#include "nomad-driver/driver_tasks.h"
#include "nomad-driver/plugin_errors.h"
#include "runtime/process_stream.h"

namespace stockade::nomad {
namespace proto = hashicorp::nomad::plugins::drivers::proto;

namespace {

// How far each side may run ahead: typed input waiting for the command, output waiting for
// the client. Past these, reading the other side pauses.
constexpr size_t kMaxPendingInput = 1 << 20;
constexpr size_t kMaxQueuedOutput = 64;

class ExecReactor final : public grpc::ServerBidiReactor<proto::ExecTaskStreamingRequest,
                                                         proto::ExecTaskStreamingResponse> {
 public:
  explicit ExecReactor(PluginRuntime& plugin) : plugin_(plugin) { StartRead(&request_); }

  void OnReadDone(bool ok) override {
    Actions next;
    {
      absl::MutexLock lock(&mu_);
      reading_ = false;
      if (!ok) {  // the client half-closed, or the call is over
        client_done_ = true;
        return;  // the pump closes the command's stdin once what is pending is written
      }
      if (!process_ && !finishing_) {
        if (absl::Status s = BeginLocked(); !s.ok()) {
          next = FinishLocked(ToPluginStatus(s));
        }
      } else if (process_) {
        if (request_.has_tty_size() && request_.tty_size().width() > 0 &&
            request_.tty_size().height() > 0) {
          process_
              ->Resize(static_cast<uint16_t>(request_.tty_size().width()),
                       static_cast<uint16_t>(request_.tty_size().height()))
              .IgnoreError();
        }
        if (request_.has_stdin()) {
          pending_input_ += request_.stdin().data();
          if (request_.stdin().close()) close_input_ = true;
        }
      }
      if (!next.finish) next.read = ReadMoreLocked();
    }
    Run(next);
  }

  void OnWriteDone(bool ok) override {
    Actions next;
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (!ok) {
        // The client is gone: the pump stops, and the call's end closes the descriptors,
        // which ends the command.
        gone_ = true;
        outgoing_.clear();
        next = FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
      } else {
        next = WriteNextLocked();
      }
    }
    Run(next);
  }

  // Finish is still owed after a cancellation: only then does OnDone come, and with it the
  // end of the command.
  void OnCancel() override {
    Actions next;
    {
      absl::MutexLock lock(&mu_);
      gone_ = true;
      outgoing_.clear();
      next = FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
    }
    Run(next);
  }

  void OnDone() override {
    {
      absl::MutexLock lock(&mu_);
      gone_ = true;
    }
    // The pump may be the thread that finished the call (a reaction can run inline).
    if (pump_.joinable()) {
      if (pump_.get_id() == std::this_thread::get_id()) {
        pump_.detach();
      } else {
        pump_.join();
      }
    }
    delete this;
  }

 private:
  // What a locked decision asks of the stream, done once the lock is released (a reaction may
  // run in the thread that starts an operation).
  struct Actions {
    bool read = false;
    const proto::ExecTaskStreamingResponse* write = nullptr;
    std::optional<grpc::Status> finish;
  };

  void Run(const Actions& a) {
    if (a.write != nullptr) StartWrite(a.write);
    if (a.read) StartRead(&request_);
    if (a.finish) Finish(*a.finish);
  }

  absl::Status BeginLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!request_.has_setup() || request_.setup().command().empty()) {
      return absl::InvalidArgumentError(
          "the first ExecTaskStreaming message must be a setup with a command");
    }
    const proto::ExecTaskStreamingRequest::Setup& setup = request_.setup();
    absl::StatusOr<TaskRecord> task = plugin_.Find(setup.task_id());
    if (!task.ok()) return task.status();
    absl::StatusOr<RuntimeCore*> core = CoreOf(plugin_);
    if (!core.ok()) return core.status();
    const std::vector<std::string> argv(setup.command().begin(), setup.command().end());
    absl::StatusOr<std::unique_ptr<ProcessStream>> process =
        (*core)->ExecStream(task->container_id, argv, setup.tty(), /*stdin=*/true);
    if (!process.ok()) return process.status();
    process_ = *std::move(process);
    pump_ = std::thread([this] { Pump(); });
    return absl::OkStatus();
  }

  // Whether to read the next message now (not while too much input waits).
  bool ReadMoreLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (reading_ || client_done_ || finishing_ || gone_ ||
        pending_input_.size() >= kMaxPendingInput) {
      return false;
    }
    reading_ = true;
    return true;
  }

  Actions WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Actions a;
    if (writing_) return a;
    if (!outgoing_.empty()) {
      current_ = std::move(outgoing_.front());
      outgoing_.pop_front();
      writing_ = true;
      a.write = &current_;
      return a;
    }
    if (finishing_ && !finished_) {
      finished_ = true;
      a.finish = final_status_;
    }
    return a;
  }

  Actions FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!finishing_) {
      finishing_ = true;
      final_status_ = status;
    }
    return WriteNextLocked();  // finishes now, or once the last write is done
  }

  // Queues a message for the client, waiting while the queue is full; false once the call
  // is over.
  bool Send(proto::ExecTaskStreamingResponse message) ABSL_LOCKS_EXCLUDED(mu_) {
    Actions next;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](ExecReactor* r) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return r->gone_ || r->outgoing_.size() < kMaxQueuedOutput;
          },
          this));
      if (gone_) return false;
      outgoing_.push_back(std::move(message));
      next = WriteNextLocked();
    }
    Run(next);
    return true;
  }

  // Writes the input that waits (the descriptor is non-blocking) and closes stdin once the
  // client is done and all is written; then says whether to read more from the client.
  bool FlushInputLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    while (process_->input && !pending_input_.empty()) {
      const ssize_t n =
          ::write(process_->input.get(), pending_input_.data(), pending_input_.size());
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
      if (n <= 0) {  // the command closed its stdin
        pending_input_.clear();
        process_->input.Reset();
        break;
      }
      pending_input_.erase(0, static_cast<size_t>(n));
    }
    if ((close_input_ || client_done_) && pending_input_.empty()) process_->input.Reset();
    return ReadMoreLocked();
  }

  void Pump() {
    ProcessStream& p = *process_;
    bool out_open = static_cast<bool>(p.output), err_open = static_cast<bool>(p.errors);
    char buf[32 * 1024];
    while (true) {
      pollfd fds[4];
      int n = 0;
      Actions next;
      {
        absl::MutexLock lock(&mu_);
        if (gone_) return;  // the call is over: the reactor's end closes the descriptors
        next.read = FlushInputLocked();
        if (p.input && !pending_input_.empty()) fds[n++] = {p.input.get(), POLLOUT, 0};
      }
      Run(next);
      const int first_output = n;
      if (out_open) fds[n++] = {p.output.get(), POLLIN, 0};
      if (err_open) fds[n++] = {p.errors.get(), POLLIN, 0};
      const int done_index = n;
      fds[n++] = {p.done.get(), POLLIN, 0};
      if (::poll(fds, n, 200) < 0 && errno != EINTR) break;
      bool any_output = false;
      for (int i = first_output; i < done_index; ++i) {
        if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        const bool is_out = out_open && fds[i].fd == p.output.get();
        const ssize_t got = ::read(fds[i].fd, buf, sizeof(buf));
        if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        proto::ExecTaskStreamingResponse resp;
        proto::ExecTaskStreamingIOOperation* op =
            is_out ? resp.mutable_stdout() : resp.mutable_stderr();
        if (got > 0) {
          op->set_data(buf, static_cast<size_t>(got));
          any_output = true;
        } else {
          // EOF, or EIO from a terminal whose last holder closed it: that output is over.
          op->set_close(true);
          (is_out ? out_open : err_open) = false;
        }
        if (!Send(std::move(resp))) return;
      }
      // Done once the command ended and its outputs are drained (a background process that
      // keeps a terminal open does not hold the session).
      const bool command_done = (fds[done_index].revents & (POLLIN | POLLHUP)) != 0;
      if (command_done && (!any_output || (!out_open && !err_open))) break;
    }
    absl::StatusOr<int> exit_code = p.Result();
    proto::ExecTaskStreamingResponse last;
    last.set_exited(true);
    last.mutable_result()->set_exit_code(exit_code.ok() ? *exit_code : 255);
    if (!Send(std::move(last))) return;
    Actions next;
    {
      absl::MutexLock lock(&mu_);
      p.input.Reset();
      next = FinishLocked(exit_code.ok() ? grpc::Status::OK : ToPluginStatus(exit_code.status()));
    }
    Run(next);
  }

  PluginRuntime& plugin_;
  std::thread pump_;
  absl::Mutex mu_;
  proto::ExecTaskStreamingRequest request_;  // the read in flight writes here
  std::unique_ptr<ProcessStream> process_ ABSL_GUARDED_BY(mu_);
  std::string pending_input_ ABSL_GUARDED_BY(mu_);
  bool close_input_ ABSL_GUARDED_BY(mu_) = false;
  bool client_done_ ABSL_GUARDED_BY(mu_) = false;
  bool reading_ ABSL_GUARDED_BY(mu_) = true;  // the constructor's read
  std::deque<proto::ExecTaskStreamingResponse> outgoing_ ABSL_GUARDED_BY(mu_);
  proto::ExecTaskStreamingResponse current_ ABSL_GUARDED_BY(mu_);  // the write in flight
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool gone_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status final_status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

grpc::ServerBidiReactor<proto::ExecTaskStreamingRequest, proto::ExecTaskStreamingResponse>*
DriverService::ExecTaskStreaming(grpc::CallbackServerContext*) {
  return new ExecReactor(plugin_);
}

}  // namespace stockade::nomad
