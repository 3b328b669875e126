// A server-side SPDY/3.1 connection on Asio, after the HTTP upgrade: reads frames, replies to
// each client stream at once (or refuses it), echoes the client's pings, queues writes
// without flow control (spdystream has none; TCP is the back-pressure), and ends on GOAWAY,
// EOF or the idle timeout. One io_context thread drives it and its handler.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <set>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/steady_timer.hpp"
#include "streaming/spdy_frame.h"

namespace stockade {

class SpdyConnection;

// What a protocol (remote command, port forward) does with the client's streams.
class SpdyStreamHandler {
 public:
  virtual ~SpdyStreamHandler() = default;
  // A new client stream: true to accept it (a SYN_REPLY goes out before anything else on it),
  // false to refuse it (RST_STREAM).
  virtual bool OnStream(uint32_t id, const spdy::Headers& headers) = 0;
  virtual void OnData(uint32_t id, absl::string_view data) = 0;
  // The client's half of the stream ended (FIN, or RST_STREAM).
  virtual void OnStreamEnd(uint32_t id) = 0;
  // The write queue fell below the low mark after Send reported it full.
  virtual void OnDrained() {}
  // The connection is gone; the handler lets go of it.
  virtual void OnClosed() = 0;
};

class SpdyConnection : public std::enable_shared_from_this<SpdyConnection> {
 public:
  // Writers hold back once this much waits to go out.
  static constexpr size_t kHighWater = 4 << 20;

  SpdyConnection(boost::asio::ip::tcp::socket socket, std::string already_read,
                 absl::Duration idle_timeout);
  void Start(std::shared_ptr<SpdyStreamHandler> handler);

  // Queues `data` (and FIN) on stream `id`; false when the queue is past kHighWater (the
  // handler waits for OnDrained before sending more).
  bool Send(uint32_t id, absl::string_view data, bool fin = false);
  void Reset(uint32_t id);
  // Sends GOAWAY once the queue is written, then closes.
  void Close();
  // For the remote-command finish: keep the connection until the client closes it, at most
  // `limit` more.
  void CloseWhenClientDoes(absl::Duration limit);
  void PauseReading() { reading_paused_ = true; }
  void ResumeReading();
  bool closed() const { return closed_; }
  boost::asio::any_io_executor executor() { return socket_.get_executor(); }

 private:
  void Read();
  void OnRead(const boost::system::error_code& ec, size_t n);
  bool HandleFrame(spdy::Frame& frame);
  void Queue(std::string bytes);
  void Write();
  void ArmIdleTimer(absl::Duration timeout);
  void Shutdown();

  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer idle_timer_;
  absl::Duration idle_timeout_;
  std::shared_ptr<SpdyStreamHandler> handler_;
  spdy::FrameReader reader_;
  spdy::HeaderCompressor compressor_;
  spdy::HeaderDecompressor decompressor_;
  std::string read_buffer_;
  std::deque<std::string> queue_;
  size_t queued_bytes_ = 0;
  bool writing_ = false, reading_ = false, reading_paused_ = false;
  bool full_ = false, close_after_write_ = false, closed_ = false;
  uint32_t last_client_stream_ = 0;
  std::set<uint32_t> open_streams_;  // accepted and not reset
};

}  // namespace stockade
