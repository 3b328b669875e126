// A small blocking HTTP client over libcurl for the registry client: one request per call,
// the body streamed to a callback, TLS settings per request, a stall timeout (no bytes for
// `progress_timeout` fails the transfer), redirects followed without leaking credentials to
// other hosts, and the standard proxy variables honoured (libcurl's own handling).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace stockade {

struct TlsSettings {
  bool skip_verify = false;
  std::string ca_file;    // extra CA bundle (PEM)
  std::string cert_file;  // client certificate (PEM)
  std::string key_file;   // its key (PEM)
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  TlsSettings tls;
  bool follow_redirects = true;
  absl::Duration connect_timeout = absl::Seconds(30);
  absl::Duration progress_timeout = absl::Minutes(5);
  // Receives the body in chunks; returning an error aborts the transfer with that error.
  std::function<absl::Status(const char* data, size_t size)> on_body;
  int64_t max_buffered_body = 4 << 20;  // used when on_body is unset
};

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names; last value wins
  std::string body;                            // only when the request had no on_body
  std::string effective_url;

  std::string Header(absl::string_view name) const;
};

// The first request calls it (once, under std::call_once: curl_global_init is not
// thread-safe); a process may call it earlier.
void InitHttpClient();

// Transport failures (refused, reset, TLS, stalled) are Unavailable or DeadlineExceeded with
// curl's explanation; HTTP error statuses are returned as responses, not errors.
absl::StatusOr<HttpResponse> PerformHttp(const HttpRequest& request);

}  // namespace stockade
