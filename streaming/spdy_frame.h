// SPDY/3.1 framing as Kubernetes' streaming clients (moby/spdystream) speak it: control and
// data frames, the name/value header blocks and their zlib compression (one stream per
// direction per connection, preset with the SPDY/3 dictionary). No I/O: bytes in, frames out.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace stockade::spdy {

enum class FrameType : uint16_t {
  kSynStream = 1,
  kSynReply = 2,
  kRstStream = 3,
  kSettings = 4,
  kPing = 6,
  kGoAway = 7,
  kHeaders = 8,
  kWindowUpdate = 9,
};

inline constexpr uint8_t kFlagFin = 0x01;
inline constexpr uint32_t kMaxDataLength = (1u << 24) - 1;

enum class RstStatus : uint32_t { kProtocolError = 1, kRefusedStream = 3, kCancel = 5 };

// One frame as read off the wire; `payload` is what follows the 8-byte header.
struct Frame {
  bool control = false;
  FrameType type = FrameType::kSynStream;  // control frames only
  uint32_t stream_id = 0;                  // data frames (control frames carry it in payload)
  uint8_t flags = 0;
  std::string payload;
  bool fin() const { return (flags & kFlagFin) != 0; }
};

// Splits a byte stream into frames.
class FrameReader {
 public:
  void Feed(absl::string_view bytes) { buffer_.append(bytes.data(), bytes.size()); }
  // The next whole frame, nullopt until one has arrived; an error for a frame that is not
  // SPDY/3 (the connection cannot go on).
  absl::StatusOr<std::optional<Frame>> Next();

 private:
  std::string buffer_;
  size_t offset_ = 0;
};

// Header names are lowercase on the wire; several values of one name are NUL-joined.
using Headers = std::vector<std::pair<std::string, std::string>>;
// The value of `name` (case-insensitive), or nullopt.
std::optional<std::string> HeaderValue(const Headers& headers, absl::string_view name);

// The SPDY/3 header dictionary (1423 bytes, Adler-32 0xE3C6A7C2).
const std::string& HeaderDictionary();

// Compresses this side's header blocks: one zlib stream for the connection's whole life.
class HeaderCompressor {
 public:
  HeaderCompressor();
  ~HeaderCompressor();
  HeaderCompressor(const HeaderCompressor&) = delete;
  HeaderCompressor& operator=(const HeaderCompressor&) = delete;
  std::string Compress(const Headers& headers);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Inflates the peer's header blocks; each block must be consumed exactly.
class HeaderDecompressor {
 public:
  HeaderDecompressor();
  ~HeaderDecompressor();
  HeaderDecompressor(const HeaderDecompressor&) = delete;
  HeaderDecompressor& operator=(const HeaderDecompressor&) = delete;
  absl::StatusOr<Headers> Decompress(absl::string_view block);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// What a SYN_STREAM, SYN_REPLY or HEADERS payload holds before its header block.
struct StreamHeader {
  uint32_t stream_id = 0;
  uint32_t associated_id = 0;  // SYN_STREAM only
  absl::string_view block;     // compressed
};
absl::StatusOr<StreamHeader> ParseSynStream(const Frame& frame);
absl::StatusOr<StreamHeader> ParseSynReply(const Frame& frame);  // also HEADERS
// RST_STREAM: (stream, status); PING: id; GOAWAY: last good stream.
absl::StatusOr<std::pair<uint32_t, uint32_t>> ParseRstStream(const Frame& frame);
absl::StatusOr<uint32_t> ParsePing(const Frame& frame);

// Encoders, each giving a whole frame.
std::string SynStreamFrame(uint32_t stream_id, absl::string_view compressed_block,
                           uint8_t flags = 0);
std::string SynReplyFrame(uint32_t stream_id, absl::string_view compressed_block,
                          uint8_t flags = 0);
std::string RstStreamFrame(uint32_t stream_id, RstStatus status);
std::string PingFrame(uint32_t id);
std::string GoAwayFrame(uint32_t last_good_stream_id, uint32_t status = 0);
// Data longer than kMaxDataLength is cut into several frames; FIN goes on the last.
std::string DataFrames(uint32_t stream_id, absl::string_view data, bool fin);

}  // namespace stockade::spdy
