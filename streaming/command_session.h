// One exec or attach session between a client's channels (stdin, stdout, stderr, error,
// resize: over SPDY streams or WebSocket channels) and a process's descriptors. Output is read
// only while the transport keeps up; the session ends once the process has ended and its
// output is drained (at most kDrainGrace after the end, for output held open by a background
// process), with the status on the error channel. A client that goes away closes the process's
// descriptors: the runtime then ends an exec session's command, or detaches.
#pragma once

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "boost/asio/any_io_executor.hpp"
#include "boost/asio/posix/stream_descriptor.hpp"
#include "boost/asio/steady_timer.hpp"
#include "runtime/process_stream.h"
#include "streaming/remote_command_protocol.h"
#include "streaming/stream_request.h"
#include "streaming/stream_targets.h"

namespace stockade {

enum class CommandChannel { kStdin = 0, kStdout = 1, kStderr = 2, kError = 3, kResize = 4 };

class CommandTransport {
 public:
  virtual ~CommandTransport() = default;
  // Queues output; false when the transport is full (it calls CommandSession::OnDrained).
  virtual bool Send(CommandChannel channel, absl::string_view data) = 0;
  virtual void CloseChannel(CommandChannel channel) = 0;
  // Everything is sent: end the connection once the client has read it.
  virtual void Finish() = 0;
};

class CommandSession : public std::enable_shared_from_this<CommandSession> {
 public:
  static constexpr absl::Duration kDrainGrace = absl::Seconds(2);

  CommandSession(boost::asio::any_io_executor executor, std::weak_ptr<CommandTransport> transport,
                 StreamRequest request, CommandProtocol protocol, StreamTargets& targets);
  ~CommandSession();

  // Starts the command (or attaches); a failure goes to the error channel.
  void Start();
  void OnStdin(absl::string_view data);
  void OnStdinEnd();
  void OnResize(absl::string_view data);
  void OnDrained();
  // The client is gone: let go of the process.
  void OnDisconnect();

 private:
  struct Descriptor;
  void ReadOutput(Descriptor& d, CommandChannel channel);
  void WriteInput();
  void OnDone();
  void MaybeFinish();
  void Finish(const std::string& status);
  void Release();

  boost::asio::any_io_executor executor_;
  std::weak_ptr<CommandTransport> transport_;
  StreamRequest request_;
  CommandProtocol protocol_;
  StreamTargets& targets_;
  std::unique_ptr<ProcessStream> process_;
  std::unique_ptr<Descriptor> input_, output_, errors_, done_;
  boost::asio::steady_timer drain_timer_;
  ResizeDecoder resize_;
  std::string stdin_pending_;
  bool stdin_writing_ = false, stdin_ended_ = false;
  bool exited_ = false, drain_expired_ = false, finished_ = false, paused_ = false;
  std::string status_;
};

}  // namespace stockade
