#include "streaming/command_session.h"

#include <chrono>

#include "boost/asio/write.hpp"

namespace stockade {

namespace asio = boost::asio;

// A descriptor the ProcessStream owns, driven by Asio; released (not closed) when done.
struct CommandSession::Descriptor {
  Descriptor(asio::any_io_executor executor, int fd) : stream(executor, fd) {}
  ~Descriptor() {
    boost::system::error_code ignored;
    stream.cancel(ignored);
    stream.release();
  }
  asio::posix::stream_descriptor stream;
  std::string buffer;
  bool reading = false, eof = false;
};

CommandSession::CommandSession(asio::any_io_executor executor,
                               std::weak_ptr<CommandTransport> transport, StreamRequest request,
                               CommandProtocol protocol, StreamTargets& targets)
    : executor_(executor),
      transport_(std::move(transport)),
      request_(std::move(request)),
      protocol_(std::move(protocol)),
      targets_(targets),
      drain_timer_(executor) {}

CommandSession::~CommandSession() { Release(); }

void CommandSession::Release() {
  input_.reset();
  output_.reset();
  errors_.reset();
  done_.reset();
  process_.reset();  // closes the descriptors: the runtime ends the command, or detaches
}

void CommandSession::Start() {
  absl::StatusOr<std::unique_ptr<ProcessStream>> process =
      request_.kind == StreamKind::kAttach ? targets_.Attach(request_) : targets_.Exec(request_);
  if (!process.ok()) {
    Finish(FailureStatus(protocol_, process.status().message()));
    return;
  }
  process_ = *std::move(process);
  if (process_->input) input_ = std::make_unique<Descriptor>(executor_, process_->input.get());
  if (process_->output && request_.stdout) {
    output_ = std::make_unique<Descriptor>(executor_, process_->output.get());
  }
  if (process_->errors && request_.stderr && !request_.tty) {
    errors_ = std::make_unique<Descriptor>(executor_, process_->errors.get());
  }
  done_ = std::make_unique<Descriptor>(executor_, process_->done.get());
  if (output_) ReadOutput(*output_, CommandChannel::kStdout);
  if (errors_) ReadOutput(*errors_, CommandChannel::kStderr);
  done_->stream.async_wait(asio::posix::stream_descriptor::wait_read,
                           [self = shared_from_this()](const boost::system::error_code& ec) {
                             if (!ec) self->OnDone();
                           });
  if (!stdin_pending_.empty()) WriteInput();
}

void CommandSession::ReadOutput(Descriptor& d, CommandChannel channel) {
  if (d.reading || d.eof || paused_ || finished_) return;
  d.reading = true;
  d.buffer.resize(32 << 10);
  d.stream.async_read_some(
      asio::buffer(d.buffer),
      [self = shared_from_this(), &d, channel](const boost::system::error_code& ec, size_t n) {
        if (ec == asio::error::operation_aborted || self->finished_) return;
        d.reading = false;
        if (ec) {  // EOF; EIO from a terminal whose last writer is gone
          d.eof = true;
          self->MaybeFinish();
          return;
        }
        std::shared_ptr<CommandTransport> transport = self->transport_.lock();
        if (!transport) return;
        if (!transport->Send(channel, absl::string_view(d.buffer.data(), n))) self->paused_ = true;
        self->ReadOutput(d, channel);
      });
}

void CommandSession::OnDrained() {
  paused_ = false;
  if (output_) ReadOutput(*output_, CommandChannel::kStdout);
  if (errors_) ReadOutput(*errors_, CommandChannel::kStderr);
}

void CommandSession::OnStdin(absl::string_view data) {
  if (stdin_ended_ || finished_) return;
  stdin_pending_.append(data.data(), data.size());
  WriteInput();
}

void CommandSession::WriteInput() {
  if (!input_ || stdin_writing_) return;
  if (stdin_pending_.empty()) {
    if (stdin_ended_ && !request_.tty) {
      // EOF for the command (a terminal has no EOF of its own to pass on).
      input_.reset();
      process_->input.Reset();
    }
    return;
  }
  stdin_writing_ = true;
  auto chunk = std::make_shared<std::string>(std::move(stdin_pending_));
  stdin_pending_.clear();
  asio::async_write(
      input_->stream, asio::buffer(*chunk),
      [self = shared_from_this(), chunk](const boost::system::error_code& ec, size_t) {
        if (ec == asio::error::operation_aborted) return;
        self->stdin_writing_ = false;
        if (ec) {  // the command closed its stdin: what is left goes nowhere
          self->stdin_pending_.clear();
          self->stdin_ended_ = true;
          return;
        }
        self->WriteInput();
      });
}

void CommandSession::OnStdinEnd() {
  stdin_ended_ = true;
  WriteInput();
}

void CommandSession::OnResize(absl::string_view data) {
  for (const TerminalSize& size : resize_.Feed(data)) {
    if (process_ && request_.tty) process_->Resize(size.width, size.height).IgnoreError();
  }
}

void CommandSession::OnDone() {
  absl::StatusOr<int> result = process_->Result();
  exited_ = true;
  if (!result.ok()) {
    status_ = FailureStatus(protocol_, result.status().message());
  } else if (request_.kind == StreamKind::kAttach) {
    status_ = SuccessStatus(protocol_);
  } else {
    status_ = ExitCodeStatus(protocol_, *result, request_.cmd);
  }
  drain_timer_.expires_after(std::chrono::milliseconds(absl::ToInt64Milliseconds(kDrainGrace)));
  drain_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec) return;
    self->drain_expired_ = true;
    self->MaybeFinish();
  });
  MaybeFinish();
}

void CommandSession::MaybeFinish() {
  if (finished_ || !exited_) return;
  const bool drained = (!output_ || output_->eof) && (!errors_ || errors_->eof);
  if (!drained && !drain_expired_) return;
  drain_timer_.cancel();
  Finish(status_);
}

void CommandSession::Finish(const std::string& status) {
  if (finished_) return;
  finished_ = true;
  std::shared_ptr<CommandTransport> transport = transport_.lock();
  Release();
  if (!transport) return;
  if (!status.empty()) transport->Send(CommandChannel::kError, status);
  transport->Finish();
}

void CommandSession::OnDisconnect() {
  finished_ = true;
  drain_timer_.cancel();
  Release();
}

}  // namespace stockade
