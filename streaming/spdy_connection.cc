#include "streaming/spdy_connection.h"

#include <chrono>

#include "boost/asio/write.hpp"
#include "common/logging.h"

namespace stockade {

namespace asio = boost::asio;

SpdyConnection::SpdyConnection(asio::ip::tcp::socket socket, std::string already_read,
                               absl::Duration idle_timeout)
    : socket_(std::move(socket)), idle_timer_(socket_.get_executor()), idle_timeout_(idle_timeout) {
  reader_.Feed(already_read);
}

void SpdyConnection::Start(std::shared_ptr<SpdyStreamHandler> handler) {
  handler_ = std::move(handler);
  ArmIdleTimer(idle_timeout_);
  // Bytes that came with the upgrade request are frames already.
  read_buffer_.clear();
  OnRead({}, 0);
}

void SpdyConnection::ArmIdleTimer(absl::Duration timeout) {
  if (closed_) return;
  idle_timer_.expires_after(std::chrono::milliseconds(absl::ToInt64Milliseconds(timeout)));
  idle_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec) return;  // re-armed or cancelled
    self->Shutdown();
  });
}

void SpdyConnection::Read() {
  if (closed_ || reading_ || reading_paused_) return;
  reading_ = true;
  read_buffer_.resize(64 << 10);
  socket_.async_read_some(
      asio::buffer(read_buffer_),
      [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
        self->reading_ = false;
        self->OnRead(ec, n);
      });
}

void SpdyConnection::ResumeReading() {
  reading_paused_ = false;
  Read();
}

void SpdyConnection::OnRead(const boost::system::error_code& ec, size_t n) {
  if (closed_) return;
  if (ec) {
    Shutdown();
    return;
  }
  if (n > 0) {
    ArmIdleTimer(idle_timeout_);
    reader_.Feed(absl::string_view(read_buffer_.data(), n));
  }
  while (!closed_) {
    absl::StatusOr<std::optional<spdy::Frame>> frame = reader_.Next();
    if (!frame.ok()) {
      Log(LogLevel::kWarn, "streaming: dropping a SPDY connection",
          {{"error", std::string(frame.status().message())}});
      Shutdown();
      return;
    }
    if (!frame->has_value()) break;
    if (!HandleFrame(**frame)) {
      Shutdown();
      return;
    }
  }
  Read();
}

bool SpdyConnection::HandleFrame(spdy::Frame& frame) {
  if (!frame.control) {
    if (open_streams_.count(frame.stream_id) == 0) return true;  // reset, or never opened
    if (!frame.payload.empty()) handler_->OnData(frame.stream_id, frame.payload);
    if (frame.fin() && !closed_) handler_->OnStreamEnd(frame.stream_id);
    return true;
  }
  switch (frame.type) {
    case spdy::FrameType::kSynStream: {
      absl::StatusOr<spdy::StreamHeader> h = spdy::ParseSynStream(frame);
      if (!h.ok()) return false;
      // Always inflated: the zlib stream is shared by every block of the connection.
      absl::StatusOr<spdy::Headers> headers = decompressor_.Decompress(h->block);
      if (!headers.ok()) {
        Log(LogLevel::kWarn, "streaming: a bad SPDY header block",
            {{"error", std::string(headers.status().message())}});
        return false;
      }
      if (h->stream_id <= last_client_stream_ || h->stream_id % 2 == 0) {
        Queue(spdy::RstStreamFrame(h->stream_id, spdy::RstStatus::kProtocolError));
        return true;
      }
      last_client_stream_ = h->stream_id;
      if (!handler_->OnStream(h->stream_id, *headers)) {
        Queue(spdy::RstStreamFrame(h->stream_id, spdy::RstStatus::kCancel));
        return true;
      }
      open_streams_.insert(h->stream_id);
      Queue(spdy::SynReplyFrame(h->stream_id, compressor_.Compress({})));
      if (frame.fin() && !closed_) handler_->OnStreamEnd(h->stream_id);
      return true;
    }
    case spdy::FrameType::kHeaders: {
      absl::StatusOr<spdy::StreamHeader> h = spdy::ParseSynReply(frame);
      return h.ok() && decompressor_.Decompress(h->block).ok();
    }
    case spdy::FrameType::kRstStream: {
      absl::StatusOr<std::pair<uint32_t, uint32_t>> rst = spdy::ParseRstStream(frame);
      if (!rst.ok()) return false;
      if (open_streams_.erase(rst->first) > 0) handler_->OnStreamEnd(rst->first);
      return true;
    }
    case spdy::FrameType::kPing: {
      absl::StatusOr<uint32_t> id = spdy::ParsePing(frame);
      if (!id.ok()) return false;
      if (*id % 2 == 1) Queue(spdy::PingFrame(*id));  // the client's: echoed
      return true;
    }
    case spdy::FrameType::kGoAway:
      Shutdown();
      return true;
    default:
      return true;  // SETTINGS, WINDOW_UPDATE and the rest: spdystream ignores them too
  }
}

bool SpdyConnection::Send(uint32_t id, absl::string_view data, bool fin) {
  if (closed_ || open_streams_.count(id) == 0) return true;
  Queue(spdy::DataFrames(id, data, fin));
  if (queued_bytes_ > kHighWater) full_ = true;
  return !full_;
}

void SpdyConnection::Reset(uint32_t id) {
  if (closed_ || open_streams_.erase(id) == 0) return;
  Queue(spdy::RstStreamFrame(id, spdy::RstStatus::kCancel));
}

void SpdyConnection::Queue(std::string bytes) {
  if (closed_) return;
  queued_bytes_ += bytes.size();
  queue_.push_back(std::move(bytes));
  Write();
}

void SpdyConnection::Write() {
  if (writing_ || closed_) return;
  if (queue_.empty()) {
    if (close_after_write_) Shutdown();
    return;
  }
  writing_ = true;
  asio::async_write(socket_, asio::buffer(queue_.front()),
                    [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                      self->writing_ = false;
                      if (ec || self->closed_) {
                        self->Shutdown();
                        return;
                      }
                      self->queued_bytes_ -= self->queue_.front().size();
                      self->queue_.pop_front();
                      self->ArmIdleTimer(self->idle_timeout_);
                      if (self->full_ && self->queued_bytes_ < kHighWater / 2) {
                        self->full_ = false;
                        if (self->handler_) self->handler_->OnDrained();
                      }
                      self->Write();
                    });
}

void SpdyConnection::Close() {
  if (closed_ || close_after_write_) return;
  Queue(spdy::GoAwayFrame(last_client_stream_));
  close_after_write_ = true;
  Write();
}

void SpdyConnection::CloseWhenClientDoes(absl::Duration limit) {
  idle_timeout_ = std::min(idle_timeout_, limit);
  ArmIdleTimer(idle_timeout_);
}

void SpdyConnection::Shutdown() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  idle_timer_.cancel();
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  queue_.clear();
  queued_bytes_ = 0;
  if (std::shared_ptr<SpdyStreamHandler> handler = std::move(handler_)) handler->OnClosed();
}

}  // namespace stockade
