#include "streaming/tls_terminator.h"

#include <sys/socket.h>

#include <array>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "boost/asio/local/stream_protocol.hpp"
#include "boost/asio/ssl/stream.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/write.hpp"
#include "common/logging.h"

namespace stockade {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::ip::tcp;

constexpr auto kHandshakeTimeout = std::chrono::seconds(30);

class TlsRelay : public std::enable_shared_from_this<TlsRelay> {
 public:
  TlsRelay(tcp::socket socket, ssl::context& context)
      : tls_(std::move(socket), context),
        plain_(tls_.get_executor()),
        timer_(tls_.get_executor()) {}

  void Start(std::function<void(tcp::socket)> serve) {
    timer_.expires_after(kHandshakeTimeout);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->Close();
    });
    tls_.async_handshake(ssl::stream_base::server, [self = shared_from_this(),
                                                    serve](const boost::system::error_code& ec) {
      self->timer_.cancel();
      if (ec) {
        Log(LogLevel::kDebug, "streaming: a TLS handshake failed", {{"error", ec.message()}});
        self->Close();
        return;
      }
      int pair[2];
      if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
        self->Close();
        return;
      }
      boost::system::error_code assign;
      self->plain_.assign(asio::local::stream_protocol(), pair[0], assign);
      // The HTTP session takes the other end as a stream socket: reads and writes are the same.
      tcp::socket inner(self->tls_.get_executor());
      inner.assign(tcp::v4(), pair[1], assign);
      serve(std::move(inner));
      self->FromClient();
      self->ToClient();
    });
  }

 private:
  void FromClient() {
    tls_.async_read_some(asio::buffer(in_), [self = shared_from_this()](
                                                const boost::system::error_code& ec, size_t n) {
      if (ec) {
        boost::system::error_code ignored;
        self->plain_.shutdown(asio::socket_base::shutdown_send, ignored);
        self->Done();
        return;
      }
      asio::async_write(self->plain_, asio::buffer(self->in_, n),
                        [self](const boost::system::error_code& ec, size_t) {
                          if (ec) return self->Close();
                          self->FromClient();
                        });
    });
  }

  void ToClient() {
    plain_.async_read_some(asio::buffer(out_), [self = shared_from_this()](
                                                   const boost::system::error_code& ec, size_t n) {
      if (ec) {
        // The session ended: say so over TLS, then close.
        self->tls_.async_shutdown([self](const boost::system::error_code&) { self->Close(); });
        return;
      }
      asio::async_write(self->tls_, asio::buffer(self->out_, n),
                        [self](const boost::system::error_code& ec, size_t) {
                          if (ec) return self->Close();
                          self->ToClient();
                        });
    });
  }

  void Done() {
    if (++ended_ == 2) Close();
  }

  void Close() {
    boost::system::error_code ignored;
    timer_.cancel();
    plain_.close(ignored);
    tls_.lowest_layer().close(ignored);
  }

  ssl::stream<tcp::socket> tls_;
  asio::local::stream_protocol::socket plain_;
  asio::steady_timer timer_;
  std::array<char, 32 << 10> in_{}, out_{};
  int ended_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ssl::context>> MakeTlsContext(const std::string& cert_file,
                                                             const std::string& key_file) {
  auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  boost::system::error_code ec;
  context->use_certificate_chain_file(cert_file, ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat("streaming.tls_cert_file ", cert_file, ": ",
                                                   ec.message(), " (a PEM certificate chain)"));
  }
  context->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat("streaming.tls_key_file ", key_file, ": ",
                                                   ec.message(), " (the PEM key of the cert)"));
  }
  return context;
}

void TerminateTls(tcp::socket socket, ssl::context& context,
                  std::function<void(tcp::socket)> serve) {
  std::make_shared<TlsRelay>(std::move(socket), context)->Start(std::move(serve));
}

}  // namespace stockade
