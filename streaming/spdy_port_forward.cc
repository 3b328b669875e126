#include <chrono>
#include <deque>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/write.hpp"
#include "common/logging.h"
#include "streaming/spdy_protocols.h"

namespace stockade {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

class SpdyPortForward : public SpdyStreamHandler,
                        public std::enable_shared_from_this<SpdyPortForward> {
 public:
  SpdyPortForward(std::shared_ptr<SpdyConnection> connection, StreamRequest request,
                  StreamTargets& targets, absl::Duration pair_timeout)
      : connection_(std::move(connection)),
        request_(std::move(request)),
        targets_(targets),
        pair_timeout_(pair_timeout) {}

  void Begin() { connection_->Start(shared_from_this()); }

  bool OnStream(uint32_t id, const spdy::Headers& headers) override {
    const std::string type =
        absl::AsciiStrToLower(spdy::HeaderValue(headers, "streamtype").value_or(""));
    uint32_t port = 0;
    if ((type != "error" && type != "data") ||
        !absl::SimpleAtoi(spdy::HeaderValue(headers, "port").value_or(""), &port) || port == 0 ||
        port > 65535) {
      return false;
    }
    // Clients older than requestid pair by stream ids: data comes right after its error.
    std::string request_id = spdy::HeaderValue(headers, "requestid").value_or("");
    if (request_id.empty()) request_id = absl::StrCat(type == "error" ? id : id - 2);
    std::shared_ptr<Pair>& pair = pairs_[request_id];
    if (!pair) {
      pair = std::make_shared<Pair>(connection_->executor());
      pair->request_id = request_id;
      pair->port = static_cast<int32_t>(port);
      pair->timer.expires_after(
          std::chrono::milliseconds(absl::ToInt64Milliseconds(pair_timeout_)));
      pair->timer.async_wait(
          [self = shared_from_this(), pair = pair.get()](const boost::system::error_code& ec) {
            if (ec || pair->socket.is_open()) return;
            self->Fail(*pair, "timed out waiting for streams");
          });
    }
    uint32_t& slot = type == "error" ? pair->error_id : pair->data_id;
    if (slot != 0) {
      // A duplicate: kubelet answers on the error stream of the pair.
      Fail(*pair, absl::StrCat("a second ", type, " stream for request ", request_id));
      return true;
    }
    slot = id;
    by_stream_[id] = pair;
    if (pair->error_id != 0 && pair->data_id != 0) {
      pair->timer.cancel();
      asio::post(connection_->executor(), [self = shared_from_this(), pair] { self->Dial(pair); });
    }
    return true;
  }

  void OnData(uint32_t id, absl::string_view data) override {
    auto it = by_stream_.find(id);
    if (it == by_stream_.end() || id != it->second->data_id) return;
    Pair& pair = *it->second;
    pair.upload.append(data.data(), data.size());
    if (pair.upload.size() > (4 << 20)) connection_->PauseReading();
    Upload(it->second);
  }

  void OnStreamEnd(uint32_t id) override {
    auto it = by_stream_.find(id);
    if (it == by_stream_.end() || id != it->second->data_id) return;
    it->second->upload_ended = true;
    Upload(it->second);
  }

  void OnDrained() override {
    for (auto& [id, pair] : pairs_) Download(pair);
  }

  void OnClosed() override {
    for (auto& [id, pair] : pairs_) pair->Close();
    pairs_.clear();
    by_stream_.clear();
    connection_.reset();
  }

 private:
  struct Pair {
    explicit Pair(asio::any_io_executor ex) : socket(ex), timer(ex) {}
    void Close() {
      boost::system::error_code ignored;
      timer.cancel();
      socket.close(ignored);
    }
    std::string request_id;
    int32_t port = 0;
    uint32_t error_id = 0, data_id = 0;
    tcp::socket socket;
    asio::steady_timer timer;
    std::string upload, download_buffer;
    bool uploading = false, upload_ended = false, upload_shut = false;
    bool downloading = false, download_ended = false, blocked = false, failed = false;
  };

  void Dial(std::shared_ptr<Pair> pair) {
    if (!connection_) return;
    absl::StatusOr<UniqueFd> fd = targets_.DialPort(request_.pod_id, pair->port);
    if (!fd.ok()) {
      Fail(*pair, absl::StrCat("error forwarding port ", pair->port, " to pod ", request_.pod_id,
                               ", uid : ", fd.status().message()));
      return;
    }
    boost::system::error_code ec;
    pair->socket.assign(tcp::v4(), fd->Release(), ec);
    if (ec) {
      Fail(*pair, absl::StrCat("error forwarding port ", pair->port, ": ", ec.message()));
      return;
    }
    Upload(pair);
    Download(pair);
  }

  void Upload(const std::shared_ptr<Pair>& pair) {
    if (!pair->socket.is_open() || pair->uploading || pair->failed) return;
    if (pair->upload.empty()) {
      if (pair->upload_ended && !pair->upload_shut) {
        pair->upload_shut = true;
        boost::system::error_code ignored;
        pair->socket.shutdown(tcp::socket::shutdown_send, ignored);
        MaybeEnd(pair);
      }
      return;
    }
    pair->uploading = true;
    auto chunk = std::make_shared<std::string>(std::move(pair->upload));
    pair->upload.clear();
    asio::async_write(
        pair->socket, asio::buffer(*chunk),
        [self = shared_from_this(), pair, chunk](const boost::system::error_code& ec, size_t) {
          pair->uploading = false;
          if (ec) {
            pair->upload.clear();
            pair->upload_ended = pair->upload_shut = true;
            self->MaybeEnd(pair);
            return;
          }
          if (self->connection_) self->connection_->ResumeReading();
          self->Upload(pair);
        });
  }

  void Download(const std::shared_ptr<Pair>& pair) {
    if (!pair->socket.is_open() || pair->downloading || pair->download_ended) return;
    pair->downloading = true;
    pair->download_buffer.resize(32 << 10);
    pair->socket.async_read_some(
        asio::buffer(pair->download_buffer),
        [self = shared_from_this(), pair](const boost::system::error_code& ec, size_t n) {
          pair->downloading = false;
          if (!self->connection_) return;
          if (ec) {
            pair->download_ended = true;
            self->connection_->Send(pair->data_id, "", true);
            self->MaybeEnd(pair);
            return;
          }
          const bool room = self->connection_->Send(
              pair->data_id, absl::string_view(pair->download_buffer.data(), n));
          if (room) self->Download(pair);  // else OnDrained resumes it
        });
  }

  // Both directions are done: the client waits for the error stream's end, too.
  void MaybeEnd(const std::shared_ptr<Pair>& pair) {
    if (!pair->download_ended || !pair->upload_shut || !connection_) return;
    connection_->Send(pair->error_id, "", true);
    Forget(*pair);
  }

  void Fail(Pair& pair, const std::string& message) {
    if (pair.failed || !connection_) return;
    pair.failed = true;
    Log(LogLevel::kWarn, "streaming: port forward", {{"error", message}});
    if (pair.error_id != 0) connection_->Send(pair.error_id, message, true);
    if (pair.data_id != 0) connection_->Send(pair.data_id, "", true);
    Forget(pair);
  }

  void Forget(Pair& pair) {
    pair.Close();
    by_stream_.erase(pair.error_id);
    by_stream_.erase(pair.data_id);
    pairs_.erase(pair.request_id);  // may destroy `pair`: last
  }

  std::shared_ptr<SpdyConnection> connection_;
  StreamRequest request_;
  StreamTargets& targets_;
  absl::Duration pair_timeout_;
  std::map<std::string, std::shared_ptr<Pair>> pairs_;
  std::map<uint32_t, std::shared_ptr<Pair>> by_stream_;
};

}  // namespace

void ServeSpdyPortForward(std::shared_ptr<SpdyConnection> connection, StreamRequest request,
                          StreamTargets& targets, absl::Duration stream_creation_timeout) {
  auto handler = std::make_shared<SpdyPortForward>(std::move(connection), std::move(request),
                                                   targets, stream_creation_timeout);
  handler->Begin();
}

}  // namespace stockade
