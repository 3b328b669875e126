#include "streaming/websocket_protocols.h"

#include <chrono>
#include <deque>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "boost/asio/write.hpp"
#include "boost/beast/core/buffers_to_string.hpp"
#include "boost/beast/core/flat_buffer.hpp"
#include "boost/beast/websocket.hpp"
#include "common/logging.h"
#include "streaming/command_session.h"

namespace stockade {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using asio::ip::tcp;

constexpr uint8_t kCloseSignal = 255;  // v5: [255, channel] ends that channel

// One WebSocket connection: channel framing, a write queue, and the protocol on top.
class WebSocketConnection : public std::enable_shared_from_this<WebSocketConnection> {
 public:
  static constexpr size_t kHighWater = 4 << 20;

  WebSocketConnection(tcp::socket socket, std::string protocol)
      : ws_(std::move(socket)), protocol_(std::move(protocol)) {
    base64_ = absl::StrContains(protocol_, "base64");
    v5_ = protocol_ == "v5.channel.k8s.io";
  }

  websocket::stream<tcp::socket>& ws() { return ws_; }
  bool v5() const { return v5_; }
  const std::string& protocol() const { return protocol_; }

  // Queues one message on `channel`; false when the queue is past kHighWater.
  bool Send(uint8_t channel, absl::string_view data) {
    if (closed_) return true;
    std::string message;
    if (base64_) {
      message.push_back(static_cast<char>('0' + channel));
      message += absl::Base64Escape(data);
    } else {
      message.push_back(static_cast<char>(channel));
      message.append(data.data(), data.size());
    }
    queued_ += message.size();
    queue_.push_back({std::move(message), false});
    Write();
    if (queued_ > kHighWater) full_ = true;
    return !full_;
  }
  void SendClose(uint8_t channel) {
    if (!v5_ || closed_) return;
    queue_.push_back(
        {std::string{static_cast<char>(kCloseSignal), static_cast<char>(channel)}, false});
    Write();
  }
  // A normal close once everything queued is written.
  void Close() {
    if (closed_) return;
    queue_.push_back({"", true});
    Write();
  }

  std::function<void(uint8_t channel, absl::string_view data)> on_message;
  std::function<void(uint8_t channel)> on_channel_closed;  // v5 close signal
  std::function<void()> on_drained, on_closed;

  void Start() { Read(); }

  void Shutdown() {
    if (closed_) return;
    closed_ = true;
    beast::get_lowest_layer(ws_).close();
    queue_.clear();
    if (auto f = std::move(on_closed)) f();
    on_message = nullptr;
    on_channel_closed = nullptr;
    on_drained = nullptr;
  }

 private:
  struct Message {
    std::string bytes;
    bool close;
  };

  void Read() {
    ws_.async_read(read_buffer_,
                   [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                     if (ec) {
                       self->Shutdown();
                       return;
                     }
                     std::string data = beast::buffers_to_string(self->read_buffer_.data());
                     self->read_buffer_.consume(self->read_buffer_.size());
                     self->Dispatch(data);
                     if (!self->closed_) self->Read();
                   });
  }

  void Dispatch(std::string& data) {
    if (data.empty()) return;  // empty messages are ignored
    uint8_t channel;
    std::string payload;
    if (base64_) {
      channel = static_cast<uint8_t>(data[0] - '0');
      if (!absl::Base64Unescape(absl::string_view(data).substr(1), &payload)) return;
    } else {
      channel = static_cast<uint8_t>(data[0]);
      payload = data.substr(1);
    }
    if (v5_ && channel == kCloseSignal) {
      if (!payload.empty() && on_channel_closed)
        on_channel_closed(static_cast<uint8_t>(payload[0]));
      return;
    }
    if (on_message) on_message(channel, payload);
  }

  void Write() {
    if (writing_ || closed_ || queue_.empty()) return;
    writing_ = true;
    if (queue_.front().close) {
      ws_.async_close(websocket::close_code::normal,
                      [self = shared_from_this()](const boost::system::error_code&) {
                        self->writing_ = false;
                        self->Shutdown();
                      });
      return;
    }
    ws_.binary(!base64_);
    ws_.text(base64_);
    ws_.async_write(asio::buffer(queue_.front().bytes),
                    [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                      self->writing_ = false;
                      if (ec || self->closed_) {
                        self->Shutdown();
                        return;
                      }
                      self->queued_ -= self->queue_.front().bytes.size();
                      self->queue_.pop_front();
                      if (self->full_ && self->queued_ < kHighWater / 2) {
                        self->full_ = false;
                        if (self->on_drained) self->on_drained();
                      }
                      self->Write();
                    });
  }

  websocket::stream<tcp::socket> ws_;
  std::string protocol_;
  bool base64_ = false, v5_ = false;
  beast::flat_buffer read_buffer_;
  std::deque<Message> queue_;
  size_t queued_ = 0;
  bool writing_ = false, full_ = false, closed_ = false;
};

// Remote command: channels 0 stdin, 1 stdout, 2 stderr, 3 status, 4 resize.
class WebSocketCommand : public CommandTransport,
                         public std::enable_shared_from_this<WebSocketCommand> {
 public:
  explicit WebSocketCommand(std::shared_ptr<WebSocketConnection> connection)
      : connection_(std::move(connection)) {}

  void Begin(StreamRequest request, StreamTargets& targets) {
    const int version = connection_->v5()                                  ? 5
                        : absl::StrContains(connection_->protocol(), "v4") ? 4
                                                                           : 1;
    CommandProtocol protocol{connection_->protocol(), version};
    const bool tty = request.tty;
    // The lowest channel the client reads first gets an empty message: its "ready".
    const uint8_t first = request.stdout ? 1 : (request.stderr && !tty) ? 2 : 3;
    session_ = std::make_shared<CommandSession>(connection_->ws().get_executor(), weak_from_this(),
                                                std::move(request), protocol, targets);
    std::weak_ptr<CommandSession> weak = session_;
    connection_->on_message = [weak](uint8_t channel, absl::string_view data) {
      std::shared_ptr<CommandSession> s = weak.lock();
      if (!s) return;
      if (channel == 0) s->OnStdin(data);
      if (channel == 4) s->OnResize(data);
    };
    connection_->on_channel_closed = [weak](uint8_t channel) {
      if (std::shared_ptr<CommandSession> s = weak.lock(); s && channel == 0) s->OnStdinEnd();
    };
    connection_->on_drained = [weak] {
      if (std::shared_ptr<CommandSession> s = weak.lock()) s->OnDrained();
    };
    connection_->on_closed = [self = shared_from_this()] {
      if (self->session_) self->session_->OnDisconnect();
      self->session_.reset();
    };
    connection_->Send(first, "");
    connection_->Start();
    session_->Start();
  }

  bool Send(CommandChannel channel, absl::string_view data) override {
    return connection_->Send(static_cast<uint8_t>(channel), data);
  }
  void CloseChannel(CommandChannel channel) override {
    connection_->SendClose(static_cast<uint8_t>(channel));
  }
  void Finish() override { connection_->Close(); }

 private:
  std::shared_ptr<WebSocketConnection> connection_;
  std::shared_ptr<CommandSession> session_;
};

// Port forward: for the i-th requested port, channel 2i carries data, 2i+1 errors.
class WebSocketPortForward : public std::enable_shared_from_this<WebSocketPortForward> {
 public:
  explicit WebSocketPortForward(std::shared_ptr<WebSocketConnection> connection)
      : connection_(std::move(connection)) {}

  void Begin(const StreamRequest& request, StreamTargets& targets) {
    auto ex = connection_->ws().get_executor();
    for (size_t i = 0; i < request.ports.size(); ++i) {
      auto port = std::make_shared<Port>(ex);
      port->number = request.ports[i];
      port->data_channel = static_cast<uint8_t>(2 * i);
      const char le[2] = {static_cast<char>(port->number & 0xff),
                          static_cast<char>((port->number >> 8) & 0xff)};
      connection_->Send(port->data_channel, absl::string_view(le, 2));
      connection_->Send(port->data_channel + 1, absl::string_view(le, 2));
      absl::StatusOr<UniqueFd> fd = targets.DialPort(request.pod_id, port->number);
      boost::system::error_code ec;
      if (fd.ok()) port->socket.assign(tcp::v4(), fd->Release(), ec);
      if (!fd.ok() || ec) {
        connection_->Send(
            port->data_channel + 1,
            absl::StrCat("error forwarding port ", port->number, " to pod ", request.pod_id,
                         ", uid : ", fd.ok() ? ec.message() : fd.status().message()));
        continue;
      }
      ports_[port->data_channel] = port;
    }
    std::weak_ptr<WebSocketPortForward> weak = shared_from_this();
    connection_->on_message = [weak](uint8_t channel, absl::string_view data) {
      if (auto self = weak.lock()) self->Upload(channel, data);
    };
    connection_->on_drained = [weak] {
      if (auto self = weak.lock()) {
        for (auto& [c, p] : self->ports_) self->Download(p);
      }
    };
    connection_->on_closed = [self = shared_from_this()] {
      for (auto& [c, p] : self->ports_) {
        boost::system::error_code ignored;
        p->socket.close(ignored);
      }
      self->ports_.clear();
    };
    connection_->Start();
    for (auto& [c, p] : ports_) Download(p);
  }

 private:
  struct Port {
    explicit Port(asio::any_io_executor ex) : socket(ex) {}
    int32_t number = 0;
    uint8_t data_channel = 0;
    tcp::socket socket;
    std::string buffer, pending;
    bool reading = false, writing = false;
  };

  void Upload(uint8_t channel, absl::string_view data) {
    auto it = ports_.find(channel);
    if (it == ports_.end() || data.empty()) return;
    std::shared_ptr<Port> port = it->second;
    // The first message on a data channel may repeat the port: kubelet skips nothing, the
    // client sends payload only.
    port->pending.append(data.data(), data.size());
    Flush(port);
  }

  void Flush(const std::shared_ptr<Port>& port) {
    if (port->writing || port->pending.empty()) return;
    port->writing = true;
    auto chunk = std::make_shared<std::string>(std::move(port->pending));
    port->pending.clear();
    asio::async_write(
        port->socket, asio::buffer(*chunk),
        [self = shared_from_this(), port, chunk](const boost::system::error_code& ec, size_t) {
          port->writing = false;
          if (!ec) self->Flush(port);
        });
  }

  void Download(const std::shared_ptr<Port>& port) {
    if (port->reading || !port->socket.is_open()) return;
    port->reading = true;
    port->buffer.resize(32 << 10);
    port->socket.async_read_some(
        asio::buffer(port->buffer),
        [self = shared_from_this(), port](const boost::system::error_code& ec, size_t n) {
          port->reading = false;
          if (ec) {
            boost::system::error_code ignored;
            port->socket.close(ignored);
            self->ports_.erase(port->data_channel);
            if (self->ports_.empty()) self->connection_->Close();
            return;
          }
          if (self->connection_->Send(port->data_channel,
                                      absl::string_view(port->buffer.data(), n))) {
            self->Download(port);
          }
        });
  }

  std::shared_ptr<WebSocketConnection> connection_;
  std::map<uint8_t, std::shared_ptr<Port>> ports_;
};

}  // namespace

void ServeWebSocket(tcp::socket socket, beast::http::request<beast::http::string_body> upgrade,
                    StreamRequest request, StreamTargets& targets,
                    const WebSocketOptions& options) {
  std::vector<std::string> supported;
  if (request.kind == StreamKind::kPortForward) {
    supported = {"v4.channel.k8s.io", "v4.base64.channel.k8s.io"};
  } else {
    supported = {"v5.channel.k8s.io", "v4.channel.k8s.io", "v4.base64.channel.k8s.io",
                 "channel.k8s.io", "base64.channel.k8s.io"};
  }
  std::string chosen;
  bool offered_any = false;
  for (absl::string_view p :
       absl::StrSplit(std::string(upgrade[beast::http::field::sec_websocket_protocol]), ',')) {
    p = absl::StripAsciiWhitespace(p);
    if (p.empty()) continue;
    offered_any = true;
    if (chosen.empty() && std::find(supported.begin(), supported.end(), p) != supported.end()) {
      chosen = std::string(p);
    }
  }
  auto upgrade_ptr =
      std::make_shared<beast::http::request<beast::http::string_body>>(std::move(upgrade));
  if (offered_any && chosen.empty()) {
    // Refused as the handshake's failure: no subprotocol of ours was offered.
    auto res = std::make_shared<beast::http::response<beast::http::string_body>>(
        beast::http::status::forbidden, 11);
    res->body() = "unable to upgrade: none of the offered WebSocket subprotocols is supported\n";
    res->prepare_payload();
    auto s = std::make_shared<tcp::socket>(std::move(socket));
    beast::http::async_write(*s, *res, [s, res](const boost::system::error_code&, size_t) {
      boost::system::error_code ignored;
      s->shutdown(tcp::socket::shutdown_both, ignored);
    });
    return;
  }
  if (chosen.empty()) chosen = request.kind == StreamKind::kPortForward ? "" : "channel.k8s.io";
  auto connection = std::make_shared<WebSocketConnection>(std::move(socket), chosen);
  websocket::stream_base::timeout timeout =
      websocket::stream_base::timeout::suggested(beast::role_type::server);
  timeout.idle_timeout = std::chrono::milliseconds(absl::ToInt64Milliseconds(options.idle_timeout));
  connection->ws().set_option(timeout);
  const bool offered = offered_any;
  connection->ws().set_option(
      websocket::stream_base::decorator([chosen, offered](websocket::response_type& res) {
        if (offered) res.set(beast::http::field::sec_websocket_protocol, chosen);
      }));
  connection->ws().async_accept(
      *upgrade_ptr, [connection, upgrade_ptr, request = std::move(request),
                     &targets](const boost::system::error_code& ec) mutable {
        if (ec) return;
        if (request.kind == StreamKind::kPortForward) {
          std::make_shared<WebSocketPortForward>(connection)->Begin(request, targets);
        } else {
          std::make_shared<WebSocketCommand>(connection)->Begin(std::move(request), targets);
        }
      });
}

}  // namespace stockade
