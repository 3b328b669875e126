#include "streaming/streaming_server.h"

#include <chrono>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/beast/core/flat_buffer.hpp"
#include "boost/beast/http.hpp"
#include "common/logging.h"
#include "streaming/request_cache.h"
#include "streaming/spdy_protocols.h"
#include "streaming/tls_terminator.h"
#include "streaming/websocket_protocols.h"

namespace stockade {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

constexpr absl::Duration kRequestTimeout = absl::Seconds(30);

// Reads one HTTP request, checks its token and upgrade, and hands the socket to a protocol.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, RequestCache& cache, StreamTargets& targets,
              const StreamingServerOptions& options)
      : socket_(std::move(socket)),
        timer_(socket_.get_executor()),
        cache_(cache),
        targets_(targets),
        options_(options) {}

  void Start() {
    parser_.header_limit(16 << 10);
    parser_.body_limit(64 << 10);
    timer_.expires_after(std::chrono::milliseconds(absl::ToInt64Milliseconds(kRequestTimeout)));
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->socket_.close();
    });
    http::async_read(socket_, buffer_, parser_,
                     [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                       self->timer_.cancel();
                       if (!ec) self->Route();
                     });
  }

 private:
  void Reply(http::status status, std::string body,
             const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    auto res = std::make_shared<http::response<http::string_body>>(status, 11);
    res->set(http::field::content_type, "text/plain; charset=utf-8");
    for (const auto& [name, value] : headers) res->insert(name, value);
    res->body() = std::move(body) + "\n";
    res->keep_alive(false);
    res->prepare_payload();
    http::async_write(socket_, *res,
                      [self = shared_from_this(), res](const boost::system::error_code&, size_t) {
                        boost::system::error_code ignored;
                        self->socket_.shutdown(tcp::socket::shutdown_both, ignored);
                      });
  }

  void Route() {
    const auto& req = parser_.get();
    const std::vector<std::string> parts =
        absl::StrSplit(std::string(req.target().substr(0, req.target().find('?'))), '/');
    // "/exec/<token>": "", "exec", "<token>"
    std::optional<StreamKind> kind;
    for (StreamKind k : {StreamKind::kExec, StreamKind::kAttach, StreamKind::kPortForward}) {
      if (parts.size() == 3 && parts[0].empty() && parts[1] == StreamKindPath(k)) kind = k;
    }
    if (!kind || (req.method() != http::verb::get && req.method() != http::verb::post)) {
      Reply(http::status::not_found, "404 page not found");
      return;
    }
    std::optional<StreamRequest> request = cache_.Consume(*kind, parts[2]);
    if (!request) {
      Reply(http::status::not_found, "404 page not found");
      return;
    }
    const std::string connection = absl::AsciiStrToLower(std::string(req[http::field::connection]));
    const std::string upgrade = absl::AsciiStrToLower(std::string(req[http::field::upgrade]));
    if (!absl::StrContains(connection, "upgrade")) {
      Reply(http::status::bad_request, "unable to upgrade: missing upgrade headers in request: " +
                                           std::string(req[http::field::upgrade]));
      return;
    }
    if (absl::StrContains(upgrade, "websocket")) {
      ServeWebSocket(std::move(socket_), parser_.release(), *std::move(request), targets_,
                     WebSocketOptions{options_.idle_timeout});
      return;
    }
    if (!absl::StrContains(upgrade, "spdy/3.1")) {
      Reply(http::status::bad_request, "unable to upgrade: missing upgrade headers in request: " +
                                           std::string(req[http::field::upgrade]));
      return;
    }
    std::vector<std::string> offered;
    for (const auto& field : req) {
      if (absl::EqualsIgnoreCase(std::string(field.name_string()), "X-Stream-Protocol-Version")) {
        offered.emplace_back(field.value());
      }
    }
    const std::vector<std::string> supported = *kind == StreamKind::kPortForward
                                                   ? std::vector<std::string>{kPortForwardProtocol}
                                                   : SpdyCommandProtocols();
    std::optional<std::string> chosen = NegotiateProtocol(offered, supported);
    if (!chosen) {
      std::vector<std::pair<std::string, std::string>> accepted;
      for (const std::string& p : supported) {
        accepted.emplace_back("X-Accepted-Stream-Protocol-Versions", p);
      }
      const std::string why = offered.empty()
                                  ? "the client offered no X-Stream-Protocol-Version"
                                  : absl::StrCat("none of the client's protocols is supported (",
                                                 absl::StrJoin(offered, ", "), ")");
      Reply(offered.empty() ? http::status::bad_request : http::status::forbidden,
            "unable to upgrade: unable to negotiate protocol: " + why, accepted);
      return;
    }
    auto res =
        std::make_shared<http::response<http::empty_body>>(http::status::switching_protocols, 11);
    res->set(http::field::connection, "Upgrade");
    res->set(http::field::upgrade, "SPDY/3.1");
    res->set("X-Stream-Protocol-Version", *chosen);
    StreamRequest r = *std::move(request);
    http::async_write(socket_, *res,
                      [self = shared_from_this(), res, r = std::move(r), chosen = *chosen,
                       kind = *kind](const boost::system::error_code& ec, size_t) mutable {
                        if (ec) return;
                        const auto rest = self->buffer_.cdata();
                        std::string already(static_cast<const char*>(rest.data()), rest.size());
                        auto connection = std::make_shared<SpdyConnection>(
                            std::move(self->socket_), std::move(already),
                            self->options_.idle_timeout);
                        if (kind == StreamKind::kPortForward) {
                          ServeSpdyPortForward(std::move(connection), std::move(r), self->targets_,
                                               self->options_.stream_creation_timeout);
                        } else {
                          ServeSpdyRemoteCommand(std::move(connection), std::move(r),
                                                 CommandProtocolNamed(chosen), self->targets_,
                                                 self->options_.stream_creation_timeout);
                        }
                      });
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  http::request_parser<http::string_body> parser_;
  RequestCache& cache_;
  StreamTargets& targets_;
  const StreamingServerOptions& options_;
};

}  // namespace

class StreamingServer::Impl {
 public:
  Impl(const StreamingServerOptions& options, StreamTargets& targets)
      : options_(options),
        targets_(targets),
        cache_(options.token_ttl),
        acceptor_(io_),
        work_(asio::make_work_guard(io_)) {}

  absl::Status Listen() {
    if (options_.tls_cert_file.empty() != options_.tls_key_file.empty()) {
      return absl::InvalidArgumentError(
          "streaming.tls_cert_file and streaming.tls_key_file go together: set both or neither");
    }
    if (!options_.tls_cert_file.empty()) {
      absl::StatusOr<std::unique_ptr<asio::ssl::context>> tls =
          MakeTlsContext(options_.tls_cert_file, options_.tls_key_file);
      if (!tls.ok()) return tls.status();
      tls_ = *std::move(tls);
    }
    const size_t colon = options_.address.rfind(':');
    int port = 0;
    if (colon == std::string::npos ||
        !absl::SimpleAtoi(options_.address.substr(colon + 1), &port) || port < 0 || port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("streaming.address \"", options_.address,
                                                     "\" is not host:port (e.g. 127.0.0.1:0)"));
    }
    std::string host = options_.address.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    boost::system::error_code ec;
    const asio::ip::address ip = asio::ip::make_address(host.empty() ? "127.0.0.1" : host, ec);
    if (ec) {
      return absl::InvalidArgumentError(absl::StrCat("streaming.address host \"", host,
                                                     "\" is not an IP address: ", ec.message()));
    }
    const tcp::endpoint endpoint(ip, static_cast<uint16_t>(port));
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(absl::StrCat("cannot listen for streaming on ",
                                                 options_.address, ": ", ec.message(),
                                                 " (set streaming.address to a free port)"));
    }
    const tcp::endpoint bound = acceptor_.local_endpoint();
    const std::string shown = bound.address().is_v6()
                                  ? absl::StrCat("[", bound.address().to_string(), "]")
                                  : bound.address().to_string();
    base_url_ = absl::StrCat(tls_ ? "https://" : "http://", shown, ":", bound.port());
    Accept();
    thread_ = std::thread([this] { io_.run(); });
    return absl::OkStatus();
  }

  ~Impl() {
    asio::post(io_, [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
    });
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  void Accept() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
      if (!ec) {
        boost::system::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        auto serve = [this](tcp::socket plain) {
          std::make_shared<HttpSession>(std::move(plain), cache_, targets_, options_)->Start();
        };
        if (tls_) {
          TerminateTls(std::move(socket), *tls_, serve);
        } else {
          serve(std::move(socket));
        }
      }
      Accept();
    });
  }

  StreamingServerOptions options_;
  StreamTargets& targets_;
  RequestCache cache_;
  asio::io_context io_{1};
  tcp::acceptor acceptor_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
  std::string base_url_;
  std::unique_ptr<asio::ssl::context> tls_;
};

absl::StatusOr<std::unique_ptr<StreamingServer>> StreamingServer::Start(
    const StreamingServerOptions& options, StreamTargets& targets) {
  auto impl = std::make_unique<Impl>(options, targets);
  if (absl::Status s = impl->Listen(); !s.ok()) return s;
  return std::unique_ptr<StreamingServer>(new StreamingServer(std::move(impl)));
}

StreamingServer::StreamingServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StreamingServer::~StreamingServer() = default;

absl::StatusOr<std::string> StreamingServer::Register(StreamRequest request) {
  const StreamKind kind = request.kind;
  absl::StatusOr<std::string> token = impl_->cache_.Insert(std::move(request));
  if (!token.ok()) return token.status();
  return absl::StrCat(impl_->base_url_, "/", StreamKindPath(kind), "/", *token);
}

const std::string& StreamingServer::base_url() const { return impl_->base_url_; }

}  // namespace stockade
