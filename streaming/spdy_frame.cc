#include "streaming/spdy_frame.h"

#include <zlib.h>

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace stockade::spdy {
namespace {

constexpr uint16_t kVersion = 3;
constexpr size_t kHeaderSize = 8;
// A header block inflated past this is refused: no client of ours sends more than a few names.
constexpr size_t kMaxHeaderBlock = 64 << 10;

void PutU32(std::string& out, uint32_t v) {
  const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 8), static_cast<char>(v)};
  out.append(b, 4);
}

uint32_t GetU32(absl::string_view s, size_t at) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data() + at);
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

std::string ControlFrame(FrameType type, uint8_t flags, absl::string_view payload) {
  std::string out;
  out.reserve(kHeaderSize + payload.size());
  out.push_back(static_cast<char>(0x80 | (kVersion >> 8)));
  out.push_back(static_cast<char>(kVersion & 0xff));
  const auto t = static_cast<uint16_t>(type);
  out.push_back(static_cast<char>(t >> 8));
  out.push_back(static_cast<char>(t & 0xff));
  PutU32(out, (uint32_t{flags} << 24) | static_cast<uint32_t>(payload.size()));
  out.append(payload.data(), payload.size());
  return out;
}

}  // namespace

absl::StatusOr<std::optional<Frame>> FrameReader::Next() {
  const absl::string_view rest = absl::string_view(buffer_).substr(offset_);
  if (rest.size() < kHeaderSize) return std::nullopt;
  const uint32_t first = GetU32(rest, 0);
  const uint32_t second = GetU32(rest, 4);
  const size_t length = second & 0xffffff;
  if (rest.size() < kHeaderSize + length) return std::nullopt;
  Frame frame;
  frame.flags = static_cast<uint8_t>(second >> 24);
  frame.payload.assign(rest.data() + kHeaderSize, length);
  if ((first & 0x80000000u) != 0) {
    frame.control = true;
    const uint16_t version = (first >> 16) & 0x7fff;
    if (version != kVersion) {
      return absl::InvalidArgumentError(
          absl::StrCat("SPDY version ", version, " (only SPDY/3.1 is spoken)"));
    }
    frame.type = static_cast<FrameType>(first & 0xffff);
  } else {
    frame.stream_id = first & 0x7fffffff;
    if (frame.stream_id == 0) return absl::InvalidArgumentError("a data frame on stream 0");
  }
  offset_ += kHeaderSize + length;
  if (offset_ > (1 << 16) && offset_ * 2 > buffer_.size()) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  return frame;
}

std::optional<std::string> HeaderValue(const Headers& headers, absl::string_view name) {
  for (const auto& [n, v] : headers) {
    if (absl::EqualsIgnoreCase(n, name)) return v;
  }
  return std::nullopt;
}

const std::string& HeaderDictionary() {
  // SPDY/3 draft, section 2.6.10.1: length-prefixed words, then one run of plain text.
  static const std::string* dictionary = [] {
    static constexpr const char* kWords[] = {"options",
                                             "head",
                                             "post",
                                             "put",
                                             "delete",
                                             "trace",
                                             "accept",
                                             "accept-charset",
                                             "accept-encoding",
                                             "accept-language",
                                             "accept-ranges",
                                             "age",
                                             "allow",
                                             "authorization",
                                             "cache-control",
                                             "connection",
                                             "content-base",
                                             "content-encoding",
                                             "content-language",
                                             "content-length",
                                             "content-location",
                                             "content-md5",
                                             "content-range",
                                             "content-type",
                                             "date",
                                             "etag",
                                             "expect",
                                             "expires",
                                             "from",
                                             "host",
                                             "if-match",
                                             "if-modified-since",
                                             "if-none-match",
                                             "if-range",
                                             "if-unmodified-since",
                                             "last-modified",
                                             "location",
                                             "max-forwards",
                                             "pragma",
                                             "proxy-authenticate",
                                             "proxy-authorization",
                                             "range",
                                             "referer",
                                             "retry-after",
                                             "server",
                                             "te",
                                             "trailer",
                                             "transfer-encoding",
                                             "upgrade",
                                             "user-agent",
                                             "vary",
                                             "via",
                                             "warning",
                                             "www-authenticate",
                                             "method",
                                             "get",
                                             "status",
                                             "200 OK",
                                             "version",
                                             "HTTP/1.1",
                                             "url",
                                             "public",
                                             "set-cookie",
                                             "keep-alive",
                                             "origin"};
    auto* d = new std::string;
    for (const char* w : kWords) {
      PutU32(*d, static_cast<uint32_t>(std::strlen(w)));
      d->append(w);
    }
    d->append(
        "100101201202205206300302303304305306307402405406407408409410411412413414415416417502"
        "504505203 Non-Authoritative Information204 No Content301 Moved Permanently"
        "400 Bad Request401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error"
        "501 Not Implemented503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct "
        "Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,"
        "image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
        "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8"
        "charset=iso-8859-1,utf-,*,enq=0.");
    return d;
  }();
  return *dictionary;
}

struct HeaderCompressor::State {
  z_stream z{};
};

HeaderCompressor::HeaderCompressor() : state_(std::make_unique<State>()) {
  deflateInit(&state_->z, Z_BEST_COMPRESSION);
  const std::string& dict = HeaderDictionary();
  deflateSetDictionary(&state_->z, reinterpret_cast<const Bytef*>(dict.data()),
                       static_cast<uInt>(dict.size()));
}

HeaderCompressor::~HeaderCompressor() { deflateEnd(&state_->z); }

std::string HeaderCompressor::Compress(const Headers& headers) {
  std::string plain;
  PutU32(plain, static_cast<uint32_t>(headers.size()));
  for (const auto& [name, value] : headers) {
    PutU32(plain, static_cast<uint32_t>(name.size()));
    plain.append(absl::AsciiStrToLower(name));
    PutU32(plain, static_cast<uint32_t>(value.size()));
    plain.append(value);
  }
  z_stream& z = state_->z;
  z.next_in = reinterpret_cast<Bytef*>(plain.data());
  z.avail_in = static_cast<uInt>(plain.size());
  std::string out;
  char buf[4096];
  do {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof(buf);
    deflate(&z, Z_SYNC_FLUSH);
    out.append(buf, sizeof(buf) - z.avail_out);
  } while (z.avail_out == 0);
  return out;
}

struct HeaderDecompressor::State {
  z_stream z{};
};

HeaderDecompressor::HeaderDecompressor() : state_(std::make_unique<State>()) {
  inflateInit(&state_->z);
}

HeaderDecompressor::~HeaderDecompressor() { inflateEnd(&state_->z); }

absl::StatusOr<Headers> HeaderDecompressor::Decompress(absl::string_view block) {
  z_stream& z = state_->z;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(block.data()));
  z.avail_in = static_cast<uInt>(block.size());
  std::string plain;
  char buf[4096];
  do {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof(buf);
    int rc = inflate(&z, Z_SYNC_FLUSH);
    if (rc == Z_NEED_DICT) {
      const std::string& dict = HeaderDictionary();
      if (inflateSetDictionary(&z, reinterpret_cast<const Bytef*>(dict.data()),
                               static_cast<uInt>(dict.size())) != Z_OK) {
        return absl::InvalidArgumentError("the header block wants another zlib dictionary");
      }
      rc = inflate(&z, Z_SYNC_FLUSH);
    }
    plain.append(buf, sizeof(buf) - z.avail_out);
    if (rc == Z_BUF_ERROR && z.avail_out != 0) break;
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return absl::InvalidArgumentError(absl::StrCat("a corrupt header block (zlib ", rc, ")"));
    }
    if (plain.size() > kMaxHeaderBlock) {
      return absl::InvalidArgumentError("a header block over 64 KiB");
    }
  } while (z.avail_in > 0 || z.avail_out == 0);
  if (z.avail_in != 0) return absl::InvalidArgumentError("a header block with bytes left over");
  size_t at = 0;
  auto take_u32 = [&](uint32_t& v) {
    if (plain.size() - at < 4) return false;
    v = GetU32(plain, at);
    at += 4;
    return true;
  };
  auto take_string = [&](std::string& s) {
    uint32_t n = 0;
    if (!take_u32(n) || plain.size() - at < n) return false;
    s.assign(plain, at, n);
    at += n;
    return true;
  };
  uint32_t count = 0;
  if (!take_u32(count)) return absl::InvalidArgumentError("a header block without its count");
  Headers headers;
  for (uint32_t i = 0; i < count; ++i) {
    std::string name, value;
    if (!take_string(name) || !take_string(value) || name.empty()) {
      return absl::InvalidArgumentError("a truncated header block");
    }
    headers.emplace_back(absl::AsciiStrToLower(name), std::move(value));
  }
  return headers;
}

absl::StatusOr<StreamHeader> ParseSynStream(const Frame& frame) {
  if (frame.payload.size() < 10) return absl::InvalidArgumentError("a short SYN_STREAM");
  StreamHeader h;
  h.stream_id = GetU32(frame.payload, 0) & 0x7fffffff;
  h.associated_id = GetU32(frame.payload, 4) & 0x7fffffff;
  h.block = absl::string_view(frame.payload).substr(10);
  if (h.stream_id == 0) return absl::InvalidArgumentError("a SYN_STREAM for stream 0");
  return h;
}

absl::StatusOr<StreamHeader> ParseSynReply(const Frame& frame) {
  if (frame.payload.size() < 4) return absl::InvalidArgumentError("a short SYN_REPLY");
  StreamHeader h;
  h.stream_id = GetU32(frame.payload, 0) & 0x7fffffff;
  h.block = absl::string_view(frame.payload).substr(4);
  return h;
}

absl::StatusOr<std::pair<uint32_t, uint32_t>> ParseRstStream(const Frame& frame) {
  if (frame.payload.size() != 8) return absl::InvalidArgumentError("a RST_STREAM not 8 long");
  return std::make_pair(GetU32(frame.payload, 0) & 0x7fffffff, GetU32(frame.payload, 4));
}

absl::StatusOr<uint32_t> ParsePing(const Frame& frame) {
  if (frame.payload.size() != 4) return absl::InvalidArgumentError("a PING not 4 long");
  return GetU32(frame.payload, 0);
}

std::string SynStreamFrame(uint32_t stream_id, absl::string_view compressed_block, uint8_t flags) {
  std::string payload;
  PutU32(payload, stream_id);
  PutU32(payload, 0);
  payload.append(2, '\0');  // priority, slot
  payload.append(compressed_block.data(), compressed_block.size());
  return ControlFrame(FrameType::kSynStream, flags, payload);
}

std::string SynReplyFrame(uint32_t stream_id, absl::string_view compressed_block, uint8_t flags) {
  std::string payload;
  PutU32(payload, stream_id);
  payload.append(compressed_block.data(), compressed_block.size());
  return ControlFrame(FrameType::kSynReply, flags, payload);
}

std::string RstStreamFrame(uint32_t stream_id, RstStatus status) {
  std::string payload;
  PutU32(payload, stream_id);
  PutU32(payload, static_cast<uint32_t>(status));
  return ControlFrame(FrameType::kRstStream, 0, payload);
}

std::string PingFrame(uint32_t id) {
  std::string payload;
  PutU32(payload, id);
  return ControlFrame(FrameType::kPing, 0, payload);
}

std::string GoAwayFrame(uint32_t last_good_stream_id, uint32_t status) {
  std::string payload;
  PutU32(payload, last_good_stream_id);
  PutU32(payload, status);
  return ControlFrame(FrameType::kGoAway, 0, payload);
}

std::string DataFrames(uint32_t stream_id, absl::string_view data, bool fin) {
  std::string out;
  do {
    const absl::string_view chunk = data.substr(0, kMaxDataLength);
    data.remove_prefix(chunk.size());
    PutU32(out, stream_id & 0x7fffffff);
    const uint8_t flags = (fin && data.empty()) ? kFlagFin : 0;
    PutU32(out, (uint32_t{flags} << 24) | static_cast<uint32_t>(chunk.size()));
    out.append(chunk.data(), chunk.size());
  } while (!data.empty());
  return out;
}

}  // namespace stockade::spdy
