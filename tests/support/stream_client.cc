#include "tests/support/stream_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstring>

#include <thread>
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "boost/asio/connect.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/ssl.hpp"
#include "boost/asio/write.hpp"
#include "boost/beast/core/buffers_to_string.hpp"
#include "boost/beast/core/flat_buffer.hpp"
#include "boost/beast/websocket.hpp"

namespace stockade::testing {

ParsedUrl ParseUrl(const std::string& url) {
  ParsedUrl u;
  absl::string_view rest = url;
  if (!absl::ConsumePrefix(&rest, "http://")) absl::ConsumePrefix(&rest, "https://");
  const size_t slash = rest.find('/');
  absl::string_view hostport = rest.substr(0, slash);
  u.path = slash == absl::string_view::npos ? "/" : std::string(rest.substr(slash));
  const size_t colon = hostport.rfind(':');
  u.host = std::string(hostport.substr(0, colon));
  absl::SimpleAtoi(hostport.substr(colon + 1), &u.port);
  return u;
}

UniqueFd DialTcp(const std::string& host, int port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, host.c_str(), &a.sin_addr);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return UniqueFd();
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

namespace {

bool SendAll(int fd, const std::string& bytes) {
  size_t at = 0;
  while (at < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + at, bytes.size() - at, MSG_NOSIGNAL);
    if (n <= 0) return false;
    at += static_cast<size_t>(n);
  }
  return true;
}

// Reads an HTTP reply head byte by byte (nothing past it is consumed).
bool ReadHead(int fd, HttpReply& reply, absl::Duration timeout) {
  std::string head;
  const absl::Time deadline = absl::Now() + timeout;
  while (!absl::EndsWith(head, "\r\n\r\n")) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()))) <= 0) {
      return false;
    }
    char c;
    if (::read(fd, &c, 1) != 1) return false;
    head.push_back(c);
  }
  std::vector<std::string> lines = absl::StrSplit(head, "\r\n", absl::SkipEmpty());
  if (lines.empty()) return false;
  std::vector<std::string> status = absl::StrSplit(lines[0], ' ');
  if (status.size() < 2 || !absl::SimpleAtoi(status[1], &reply.status)) return false;
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == std::string::npos) continue;
    reply.headers.emplace(absl::AsciiStrToLower(lines[i].substr(0, colon)),
                          std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1))));
  }
  return true;
}

}  // namespace

HttpReply RawHttp(const std::string& host, int port, const std::string& request) {
  HttpReply reply;
  UniqueFd fd = DialTcp(host, port);
  if (!fd || !SendAll(fd.get(), request) || !ReadHead(fd.get(), reply, absl::Seconds(10))) {
    return reply;
  }
  char buf[4096];
  pollfd p{fd.get(), POLLIN, 0};
  while (::poll(&p, 1, 2000) > 0) {
    const ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n <= 0) break;
    reply.body.append(buf, static_cast<size_t>(n));
  }
  return reply;
}

std::unique_ptr<SpdyClient> SpdyClient::Connect(const std::string& url,
                                                const std::vector<std::string>& protocols,
                                                HttpReply* reply) {
  const ParsedUrl u = ParseUrl(url);
  auto client = std::unique_ptr<SpdyClient>(new SpdyClient);
  client->fd_ = DialTcp(u.host, u.port);
  if (!client->fd_) return nullptr;
  std::string request = absl::StrCat("POST ", u.path, " HTTP/1.1\r\nHost: ", u.host, ":", u.port,
                                     "\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n");
  for (const std::string& p : protocols)
    absl::StrAppend(&request, "X-Stream-Protocol-Version: ", p, "\r\n");
  absl::StrAppend(&request, "Content-Length: 0\r\n\r\n");
  HttpReply local;
  HttpReply& r = reply != nullptr ? *reply : local;
  if (!SendAll(client->fd_.get(), request) || !ReadHead(client->fd_.get(), r, absl::Seconds(10)) ||
      r.status != 101) {
    return nullptr;
  }
  return client;
}

uint32_t SpdyClient::Open(const spdy::Headers& headers, bool fin) {
  const uint32_t id = next_id_;
  next_id_ += 2;
  SendRaw(spdy::SynStreamFrame(id, compressor_.Compress(headers), fin ? spdy::kFlagFin : 0));
  return id;
}

void SpdyClient::Send(uint32_t id, const std::string& data, bool fin) {
  SendRaw(spdy::DataFrames(id, data, fin));
}

void SpdyClient::SendRaw(const std::string& bytes) { SendAll(fd_.get(), bytes); }

bool SpdyClient::PumpUntil(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    absl::StatusOr<std::optional<spdy::Frame>> frame = reader_.Next();
    if (!frame.ok()) return false;
    if (frame->has_value()) {
      spdy::Frame& f = **frame;
      if (!f.control) {
        data[f.stream_id] += f.payload;
        if (f.fin()) finished.insert(f.stream_id);
      } else if (f.type == spdy::FrameType::kSynReply) {
        absl::StatusOr<spdy::StreamHeader> h = spdy::ParseSynReply(f);
        if (h.ok()) {
          decompressor_.Decompress(h->block).IgnoreError();
          replied.insert(h->stream_id);
        }
      } else if (f.type == spdy::FrameType::kRstStream) {
        absl::StatusOr<std::pair<uint32_t, uint32_t>> r = spdy::ParseRstStream(f);
        if (r.ok()) reset.insert(r->first);
      } else if (f.type == spdy::FrameType::kPing) {
        absl::StatusOr<uint32_t> id = spdy::ParsePing(f);
        if (id.ok()) pings.push_back(*id);
      } else if (f.type == spdy::FrameType::kGoAway) {
        goaway = true;
      }
      continue;
    }
    if (eof) return done();
    const int64_t left = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (left <= 0) return false;
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) return done();
    char buf[65536];
    const ssize_t n = ::read(fd_.get(), buf, sizeof(buf));
    if (n <= 0) {
      eof = true;
      continue;
    }
    reader_.Feed(absl::string_view(buf, static_cast<size_t>(n)));
  }
  return true;
}

void SpdyClient::Close() {
  SendRaw(spdy::GoAwayFrame(0));
  fd_.Reset();
}

CommandResult RunSpdyCommand(const std::string& url, const CommandOptions& o) {
  CommandResult result;
  HttpReply reply;
  std::unique_ptr<SpdyClient> c = SpdyClient::Connect(url, o.protocols, &reply);
  if (!c) {
    result.error = absl::StrCat("upgrade refused: HTTP ", reply.status);
    return result;
  }
  auto header = reply.headers.find("x-stream-protocol-version");
  if (header != reply.headers.end()) result.protocol = header->second;
  // client-go's order: error, stdin, stdout, stderr, resize, each waiting for its reply.
  auto open = [&](const char* type) {
    const uint32_t id = c->Open({{"streamtype", type}});
    c->PumpUntil([&] { return c->replied.count(id) > 0 || c->reset.count(id) > 0; },
                 absl::Seconds(10));
    return id;
  };
  const uint32_t error = open("error");
  const uint32_t in = o.stdin ? open("stdin") : 0;
  const uint32_t out = o.stdout ? open("stdout") : 0;
  const uint32_t err = o.stderr && !o.tty ? open("stderr") : 0;
  const uint32_t resize = o.tty ? open("resize") : 0;
  if (resize != 0 && o.resize) {
    c->Send(resize,
            absl::StrCat("{\"Width\":", o.resize->first, ",\"Height\":", o.resize->second, "}\n"));
  }
  if (in != 0) {
    if (!o.input.empty()) c->Send(in, o.input);
    if (o.close_stdin) c->Send(in, "", true);
  }
  auto ended = [&](uint32_t id) {
    return id == 0 || c->finished.count(id) > 0 || c->reset.count(id) > 0 || c->eof;
  };
  auto collect = [&] {
    result.out = out != 0 ? c->data[out] : "";
    result.err = err != 0 ? c->data[err] : "";
    result.error = c->data[error];
  };
  result.completed = c->PumpUntil(
      [&] {
        collect();
        if (o.until && o.until(result)) return true;
        return ended(out) && ended(err) && ended(error);
      },
      o.timeout);
  collect();
  c->Close();
  return result;
}

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

struct WebSocketClient {
  asio::io_context io;
  websocket::stream<asio::ip::tcp::socket> ws{io};

  bool Connect(const std::string& url, const std::string& subprotocol) {
    const ParsedUrl u = ParseUrl(url);
    boost::system::error_code ec;
    ws.next_layer().connect({asio::ip::make_address(u.host), static_cast<uint16_t>(u.port)}, ec);
    if (ec) return false;
    ws.set_option(websocket::stream_base::decorator([subprotocol](websocket::request_type& req) {
      if (!subprotocol.empty()) req.set(beast::http::field::sec_websocket_protocol, subprotocol);
    }));
    ws.handshake(absl::StrCat(u.host, ":", u.port), u.path, ec);
    ws.binary(true);
    return !ec;
  }
  // One message, or nullopt at close, error or timeout.
  std::optional<std::string> Read(absl::Duration timeout) {
    beast::flat_buffer buffer;
    boost::system::error_code result = asio::error::timed_out;
    bool done = false;
    ws.async_read(buffer, [&](const boost::system::error_code& ec, size_t) {
      result = ec;
      done = true;
    });
    io.restart();
    io.run_for(std::chrono::milliseconds(absl::ToInt64Milliseconds(timeout)));
    if (!done) {
      beast::get_lowest_layer(ws).cancel();
      io.restart();
      io.run();
      return std::nullopt;
    }
    if (result) return std::nullopt;
    return beast::buffers_to_string(buffer.data());
  }
  void Write(const std::string& message) {
    boost::system::error_code ignored;
    ws.write(asio::buffer(message), ignored);
  }
};

}  // namespace

CommandResult RunWebSocketCommand(const std::string& url, const std::string& subprotocol,
                                  const CommandOptions& o) {
  CommandResult result;
  WebSocketClient c;
  if (!c.Connect(url, subprotocol)) {
    result.error = "handshake failed";
    return result;
  }
  result.protocol = subprotocol;
  const bool base64 = absl::StrContains(subprotocol, "base64");
  auto frame = [&](uint8_t channel, const std::string& payload) {
    return base64 ? std::string(1, static_cast<char>('0' + channel)) + absl::Base64Escape(payload)
                  : std::string(1, static_cast<char>(channel)) + payload;
  };
  if (o.stdin) {
    if (!o.input.empty()) c.Write(frame(0, o.input));
    if (o.close_stdin && subprotocol == "v5.channel.k8s.io") c.Write(std::string("\xff\x00", 2));
  }
  if (o.tty && o.resize) {
    c.Write(frame(
        4, absl::StrCat("{\"Width\":", o.resize->first, ",\"Height\":", o.resize->second, "}")));
  }
  const absl::Time deadline = absl::Now() + o.timeout;
  while (absl::Now() < deadline) {
    std::optional<std::string> m = c.Read(deadline - absl::Now());
    if (!m) {
      result.completed = true;  // the server closed: every channel ended
      break;
    }
    if (m->empty()) continue;
    uint8_t channel;
    std::string payload;
    if (base64) {
      channel = static_cast<uint8_t>((*m)[0] - '0');
      absl::Base64Unescape(m->substr(1), &payload);
    } else {
      channel = static_cast<uint8_t>((*m)[0]);
      payload = m->substr(1);
    }
    if (channel == 1) result.out += payload;
    if (channel == 2) result.err += payload;
    if (channel == 3) result.error += payload;
    if (o.until && o.until(result)) break;
  }
  return result;
}

ForwardResult SpdyForward(SpdyClient& c, int port, int request_id, const std::string& payload,
                          absl::Duration timeout) {
  ForwardResult r;
  const spdy::Headers base = {{"port", std::to_string(port)},
                              {"requestid", std::to_string(request_id)}};
  spdy::Headers error_headers = base, data_headers = base;
  error_headers.emplace_back("streamtype", "error");
  data_headers.emplace_back("streamtype", "data");
  const uint32_t error = c.Open(error_headers, true);
  const uint32_t data = c.Open(data_headers);
  c.Send(data, payload, true);
  r.completed = c.PumpUntil(
      [&] {
        return (c.finished.count(data) > 0 || c.reset.count(data) > 0) &&
               (c.finished.count(error) > 0 || c.reset.count(error) > 0);
      },
      timeout);
  r.data = c.data[data];
  r.error = c.data[error];
  return r;
}

ForwardResult WebSocketForward(const std::string& url, const std::string& payload,
                               absl::Duration timeout) {
  ForwardResult r;
  WebSocketClient c;
  if (!c.Connect(url, "v4.channel.k8s.io")) return r;
  // The server opens both channels of the port with its number.
  std::optional<std::string> first = c.Read(timeout), second = c.Read(timeout);
  if (!first || !second || first->size() != 3 || second->size() != 3) return r;
  c.Write(std::string(1, '\0') + payload);
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline && r.data.size() < payload.size()) {
    std::optional<std::string> m = c.Read(deadline - absl::Now());
    if (!m) break;
    if (m->empty()) continue;
    if ((*m)[0] == 0) r.data += m->substr(1);
    if ((*m)[0] == 1) r.error += m->substr(1);
  }
  r.completed = r.data.size() >= payload.size();
  return r;
}

namespace {

// One relayed connection: plaintext in, TLS out, both ways until either side ends.
struct TlsPipe : std::enable_shared_from_this<TlsPipe> {
  TlsPipe(asio::ip::tcp::socket plain, asio::ssl::context& ctx)
      : plain(std::move(plain)), tls(this->plain.get_executor(), ctx) {}
  void Start(const asio::ip::tcp::endpoint& server) {
    tls.lowest_layer().async_connect(
        server, [self = shared_from_this()](const boost::system::error_code& ec) {
          if (ec) return self->Close();
          self->tls.async_handshake(asio::ssl::stream_base::client,
                                    [self](const boost::system::error_code& ec) {
                                      if (ec) return self->Close();
                                      self->Up();
                                      self->Down();
                                    });
        });
  }
  void Up() {
    plain.async_read_some(asio::buffer(up), [self = shared_from_this()](
                                                const boost::system::error_code& ec, size_t n) {
      if (ec) return self->Close();
      asio::async_write(self->tls, asio::buffer(self->up, n),
                        [self](const boost::system::error_code& ec, size_t) {
                          if (!ec) self->Up();
                        });
    });
  }
  void Down() {
    tls.async_read_some(asio::buffer(down),
                        [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
                          if (ec) return self->Close();
                          asio::async_write(self->plain, asio::buffer(self->down, n),
                                            [self](const boost::system::error_code& ec, size_t) {
                                              if (!ec) self->Down();
                                            });
                        });
  }
  void Close() {
    boost::system::error_code ignored;
    plain.close(ignored);
    tls.lowest_layer().close(ignored);
  }
  asio::ip::tcp::socket plain;
  asio::ssl::stream<asio::ip::tcp::socket> tls;
  std::array<char, 32 << 10> up{}, down{};
};

}  // namespace

struct TlsClientRelay::Impl {
  asio::io_context io;
  asio::ssl::context ctx{asio::ssl::context::tls_client};
  asio::ip::tcp::acceptor acceptor{io};
  asio::ip::tcp::endpoint server;
  std::thread thread;
  void Accept() {
    acceptor.async_accept([this](const boost::system::error_code& ec, asio::ip::tcp::socket s) {
      if (ec) return;
      std::make_shared<TlsPipe>(std::move(s), ctx)->Start(server);
      Accept();
    });
  }
};

std::unique_ptr<TlsClientRelay> TlsClientRelay::Start(const std::string& host, int port) {
  auto relay = std::unique_ptr<TlsClientRelay>(new TlsClientRelay);
  relay->impl_ = std::make_unique<Impl>();
  Impl& i = *relay->impl_;
  i.ctx.set_verify_mode(asio::ssl::verify_none);
  i.server = {asio::ip::make_address(host), static_cast<uint16_t>(port)};
  const asio::ip::tcp::endpoint local(asio::ip::make_address("127.0.0.1"), 0);
  i.acceptor.open(local.protocol());
  i.acceptor.bind(local);
  i.acceptor.listen();
  relay->port_ = i.acceptor.local_endpoint().port();
  i.Accept();
  i.thread = std::thread([&i] { i.io.run(); });
  return relay;
}

TlsClientRelay::~TlsClientRelay() {
  if (!impl_) return;
  impl_->io.stop();
  impl_->thread.join();
}

std::string TlsClientRelay::Through(const std::string& url) const {
  return absl::StrCat("http://127.0.0.1:", port_, ParseUrl(url).path);
}

}  // namespace stockade::testing
