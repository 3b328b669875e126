#include "imagestore/http_client.h"

#include <curl/curl.h>

#include <cstdlib>
#include <memory>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace stockade {
namespace {

struct Transfer {
  const HttpRequest* request;
  HttpResponse* response;
  absl::Status body_error;
  // Progress watchdog: the last time any byte moved, and how many had moved then.
  absl::Time last_progress = absl::Now();
  curl_off_t last_bytes = 0;
  bool stalled = false;
};

// Fails the transfer when no byte has moved for the progress timeout, however long the whole
// transfer takes (containerd's image_pull_progress_timeout semantics).
int OnProgress(void* userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
               curl_off_t ulnow) {
  auto* t = static_cast<Transfer*>(userdata);
  const absl::Time now = absl::Now();
  if (dlnow + ulnow != t->last_bytes) {
    t->last_bytes = dlnow + ulnow;
    t->last_progress = now;
    return 0;
  }
  if (now - t->last_progress > t->request->progress_timeout) {
    t->stalled = true;
    return 1;
  }
  return 0;
}

size_t OnBody(char* data, size_t size, size_t n, void* userdata) {
  auto* t = static_cast<Transfer*>(userdata);
  const size_t len = size * n;
  if (t->request->on_body) {
    // Error bodies (4xx/5xx) are kept for their message, never streamed into a blob.
    long code = t->response->status;
    if (code == 0 || code < 300) {
      t->body_error = t->request->on_body(data, len);
      return t->body_error.ok() ? len : 0;
    }
  }
  if (static_cast<int64_t>(t->response->body.size() + len) > t->request->max_buffered_body) {
    t->body_error = absl::ResourceExhaustedError(
        absl::StrCat("response from ", t->request->url, " is larger than ",
                     t->request->max_buffered_body, " bytes"));
    return 0;
  }
  t->response->body.append(data, len);
  return len;
}

size_t OnHeader(char* data, size_t size, size_t n, void* userdata) {
  auto* t = static_cast<Transfer*>(userdata);
  absl::string_view line(data, size * n);
  if (absl::StartsWith(line, "HTTP/")) {
    // A new response (after a redirect or 100-continue): start its headers afresh.
    t->response->headers.clear();
    const size_t sp = line.find(' ');
    int code = 0;
    if (sp != absl::string_view::npos) {
      code = std::atoi(std::string(line.substr(sp + 1, 3)).c_str());
    }
    t->response->status = code;
    return size * n;
  }
  const size_t colon = line.find(':');
  if (colon != absl::string_view::npos) {
    std::string name = absl::AsciiStrToLower(line.substr(0, colon));
    t->response->headers[name] = std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
  }
  return size * n;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

absl::Status TransportError(CURLcode code, const char* detail, const std::string& url) {
  const std::string message =
      absl::StrCat(url, ": ", detail[0] != '\0' ? detail : curl_easy_strerror(code));
  switch (code) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
      // Not a passing fault: the host's TLS settings need changing.
      return absl::FailedPreconditionError(absl::StrCat(
          message, " (set ca_file, cert_file/key_file or skip_verify for this registry host)"));
    case CURLE_OPERATION_TIMEDOUT:
      return absl::DeadlineExceededError(message);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return absl::InvalidArgumentError(message);
    default:
      return absl::UnavailableError(message);
  }
}

}  // namespace

std::string HttpResponse::Header(absl::string_view name) const {
  auto it = headers.find(absl::AsciiStrToLower(name));
  return it == headers.end() ? "" : it->second;
}

void InitHttpClient() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

absl::StatusOr<HttpResponse> PerformHttp(const HttpRequest& request) {
  InitHttpClient();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return absl::InternalError("curl_easy_init failed");
  HttpResponse response;
  Transfer transfer{&request, &response, absl::OkStatus()};
  char error[CURL_ERROR_SIZE] = {};
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  for (const std::string& h : request.headers) {
    headers.reset(curl_slist_append(headers.release(), h.c_str()));
  }
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (request.method == "HEAD") curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_USERAGENT, "stockade/0.1 (CRI runtime)");
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, request.follow_redirects ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  // Credentials go to the original host only, never to where a redirect points (a blob
  // store's signed URL needs none).
  curl_easy_setopt(c, CURLOPT_UNRESTRICTED_AUTH, 0L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(request.connect_timeout)));
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &transfer);
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");  // identity unless the server compresses
  curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 512L * 1024L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &transfer);
  // libcurl reads http_proxy (lower case) for http:// URLs but ignores HTTP_PROXY, a guard
  // for CGI programs that a daemon does not need; Go's clients (containerd, kubelet) read both.
  const char* lower = std::getenv("http_proxy");
  if (absl::StartsWith(request.url, "http://") && (lower == nullptr || *lower == '\0')) {
    if (const char* upper = std::getenv("HTTP_PROXY"); upper != nullptr && *upper != '\0') {
      curl_easy_setopt(c, CURLOPT_PROXY, upper);
    }
  }
  if (request.tls.skip_verify) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!request.tls.ca_file.empty())
    curl_easy_setopt(c, CURLOPT_CAINFO, request.tls.ca_file.c_str());
  if (!request.tls.cert_file.empty()) {
    curl_easy_setopt(c, CURLOPT_SSLCERT, request.tls.cert_file.c_str());
  }
  if (!request.tls.key_file.empty())
    curl_easy_setopt(c, CURLOPT_SSLKEY, request.tls.key_file.c_str());

  const CURLcode rc = curl_easy_perform(c);
  if (!transfer.body_error.ok()) return transfer.body_error;
  if (transfer.stalled) {
    return absl::DeadlineExceededError(absl::StrCat(request.url, ": no data for ",
                                                    absl::FormatDuration(request.progress_timeout),
                                                    " (the pull progress timeout)"));
  }
  if (rc != CURLE_OK) return TransportError(rc, error, request.url);
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  response.status = static_cast<int>(code);
  char* effective = nullptr;
  curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &effective);
  if (effective != nullptr) response.effective_url = effective;
  return response;
}

}  // namespace stockade
