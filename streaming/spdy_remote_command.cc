#include <chrono>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "common/logging.h"
#include "streaming/command_session.h"
#include "streaming/spdy_protocols.h"

namespace stockade {
namespace {

namespace asio = boost::asio;

// How long a finished session waits for the client to close (upstream kubelet: 15 minutes).
constexpr absl::Duration kFinishWait = absl::Minutes(15);

class SpdyRemoteCommand : public SpdyStreamHandler,
                          public CommandTransport,
                          public std::enable_shared_from_this<SpdyRemoteCommand> {
 public:
  SpdyRemoteCommand(std::shared_ptr<SpdyConnection> connection, StreamRequest request,
                    CommandProtocol protocol, StreamTargets& targets, asio::any_io_executor ex)
      : connection_(std::move(connection)),
        request_(std::move(request)),
        protocol_(std::move(protocol)),
        targets_(targets),
        executor_(ex),
        setup_timer_(ex) {}

  void Begin(absl::Duration creation_timeout) {
    expected_ = 1 + request_.stdin + request_.stdout + (request_.stderr && !request_.tty) +
                (request_.tty && protocol_.resize());
    setup_timer_.expires_after(
        std::chrono::milliseconds(absl::ToInt64Milliseconds(creation_timeout)));
    setup_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->session_ || !self->connection_) return;
      Log(LogLevel::kWarn, "streaming: timed out waiting for client to create streams");
      self->connection_->Close();
    });
    connection_->Start(shared_from_this());
  }

  bool OnStream(uint32_t id, const spdy::Headers& headers) override {
    const std::string type =
        absl::AsciiStrToLower(spdy::HeaderValue(headers, "streamtype").value_or(""));
    static const std::map<std::string, CommandChannel> kTypes = {
        {"error", CommandChannel::kError},
        {"stdin", CommandChannel::kStdin},
        {"stdout", CommandChannel::kStdout},
        {"stderr", CommandChannel::kStderr},
        {"resize", CommandChannel::kResize}};
    auto it = kTypes.find(type);
    if (it == kTypes.end()) {
      Log(LogLevel::kWarn, "streaming: a stream of unknown type", {{"streamtype", type}});
      return true;  // accepted and ignored, as kubelet does
    }
    if (streams_.count(it->second) > 0) return false;
    streams_[it->second] = id;
    channels_[id] = it->second;
    if (!session_ && static_cast<int>(streams_.size()) >= expected_) {
      setup_timer_.cancel();
      session_ = std::make_shared<CommandSession>(executor_, weak_from_this(), request_, protocol_,
                                                  targets_);
      // After this stream's SYN_REPLY has been queued: the Go client drops data before it.
      asio::post(executor_, [session = session_] { session->Start(); });
    }
    return true;
  }

  void OnData(uint32_t id, absl::string_view data) override {
    auto it = channels_.find(id);
    if (it == channels_.end() || !session_) return;
    if (it->second == CommandChannel::kStdin) session_->OnStdin(data);
    if (it->second == CommandChannel::kResize) session_->OnResize(data);
  }

  void OnStreamEnd(uint32_t id) override {
    auto it = channels_.find(id);
    if (it != channels_.end() && it->second == CommandChannel::kStdin && session_) {
      session_->OnStdinEnd();
    }
  }

  void OnDrained() override {
    if (session_) session_->OnDrained();
  }

  void OnClosed() override {
    setup_timer_.cancel();
    if (session_) session_->OnDisconnect();
    session_.reset();
    connection_.reset();
  }

  bool Send(CommandChannel channel, absl::string_view data) override {
    auto it = streams_.find(channel);
    if (!connection_ || it == streams_.end()) return true;
    return connection_->Send(it->second, data);
  }

  void CloseChannel(CommandChannel channel) override {
    auto it = streams_.find(channel);
    if (connection_ && it != streams_.end()) connection_->Send(it->second, "", true);
  }

  void Finish() override {
    if (!connection_) return;
    // kubelet's finish: reset what the client writes, close what it reads, then wait for the
    // client to go (closing first can cut a slow reader's output and status short).
    for (CommandChannel c : {CommandChannel::kStdin, CommandChannel::kResize}) {
      if (auto it = streams_.find(c); it != streams_.end()) connection_->Reset(it->second);
    }
    for (CommandChannel c :
         {CommandChannel::kStdout, CommandChannel::kStderr, CommandChannel::kError}) {
      CloseChannel(c);
    }
    connection_->CloseWhenClientDoes(kFinishWait);
  }

 private:
  std::shared_ptr<SpdyConnection> connection_;
  StreamRequest request_;
  CommandProtocol protocol_;
  StreamTargets& targets_;
  asio::any_io_executor executor_;
  asio::steady_timer setup_timer_;
  int expected_ = 1;
  std::map<CommandChannel, uint32_t> streams_;
  std::map<uint32_t, CommandChannel> channels_;
  std::shared_ptr<CommandSession> session_;
};

}  // namespace

void ServeSpdyRemoteCommand(std::shared_ptr<SpdyConnection> connection, StreamRequest request,
                            CommandProtocol protocol, StreamTargets& targets,
                            absl::Duration stream_creation_timeout) {
  asio::any_io_executor ex = connection->executor();
  auto handler = std::make_shared<SpdyRemoteCommand>(std::move(connection), std::move(request),
                                                     std::move(protocol), targets, ex);
  handler->Begin(stream_creation_timeout);
}

}  // namespace stockade
