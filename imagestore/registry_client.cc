#include "imagestore/registry_client.h"

#include <map>
#include <random>
#include <set>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "nlohmann/json.hpp"

namespace stockade {
namespace {

using Json = nlohmann::json;

std::string RegistryErrorMessage(const HttpResponse& r) {
  Json doc = Json::parse(r.body, nullptr, false);
  std::vector<std::string> parts;
  if (doc.is_object() && doc.contains("errors") && doc["errors"].is_array()) {
    for (const Json& e : doc["errors"]) {
      if (!e.is_object()) continue;
      std::string code = e.value("code", "");
      std::string message = e.value("message", "");
      parts.push_back(code.empty() ? message : absl::StrCat(code, ": ", message));
    }
  }
  if (!parts.empty()) return absl::StrJoin(parts, "; ");
  std::string body = r.body.substr(0, 200);
  return body.empty() ? "no details" : std::string(absl::StripAsciiWhitespace(body));
}

absl::Status StatusForHttp(const HttpResponse& r, absl::string_view what) {
  const std::string message =
      absl::StrCat(what, ": registry answered HTTP ", r.status, " (", RegistryErrorMessage(r), ")");
  switch (r.status) {
    case 401:
      return absl::UnauthenticatedError(
          absl::StrCat(message, "; check the pull credentials for this registry"));
    case 403:
      return absl::PermissionDeniedError(message);
    case 404:
      return absl::NotFoundError(message);
    case 429:
      return absl::ResourceExhaustedError(absl::StrCat(message, "; the registry rate-limits"));
    default:
      if (r.status >= 500) return absl::UnavailableError(message);
      return absl::InvalidArgumentError(message);
  }
}

bool Retryable(int status) {
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

struct CachedToken {
  std::string header;
  absl::Time expires;
};

class DistributionRegistry : public Registry {
 public:
  DistributionRegistry(const RegistryHosts& hosts, const RegistryClientOptions& options)
      : hosts_(hosts), options_(options) {}

  absl::StatusOr<FetchedManifest> FetchManifest(const ImageReference& image,
                                                const std::string& reference,
                                                const RegistryCredentials& creds) override {
    absl::StatusOr<std::vector<RegistryEndpoint>> endpoints = hosts_.EndpointsFor(image.domain);
    if (!endpoints.ok()) return endpoints.status();
    absl::Status last;
    for (const RegistryEndpoint& endpoint : *endpoints) {
      absl::StatusOr<FetchedManifest> m = FetchManifestFrom(endpoint, image, reference, creds);
      if (m.ok()) return m;
      last = m.status();
      if (endpoint.is_mirror) {
        Log(LogLevel::kDebug, "mirror could not serve the manifest",
            {{"mirror", endpoint.api_root}, {"error", std::string(last.message())}});
      }
      // A verified-but-wrong answer is not something another endpoint can fix.
      if (absl::IsDataLoss(last)) return last;
    }
    return last;
  }

  absl::Status FetchBlob(const ImageReference& image, const Descriptor& blob,
                         const RegistryCredentials& creds, BlobSink& sink) override {
    absl::StatusOr<std::vector<RegistryEndpoint>> endpoints = hosts_.EndpointsFor(image.domain);
    if (!endpoints.ok()) return endpoints.status();
    absl::Status last;
    for (const RegistryEndpoint& endpoint : *endpoints) {
      const std::string what = absl::StrCat("blob ", blob.digest.String(), " of ", image.path);
      absl::StatusOr<HttpResponse> r = Send(
          endpoint, image, absl::StrCat("/", image.path, "/blobs/", blob.digest.String()), {},
          creds, what, [&]() { return sink.Begin(); },
          [&](const char* d, size_t n) { return sink.Write(d, n); });
      if (r.ok() && r->status == 200) return absl::OkStatus();
      last = r.ok() ? StatusForHttp(*r, what) : r.status();
      if (absl::IsDataLoss(last)) return last;
    }
    return last;
  }

 private:
  using BodySink = std::function<absl::Status(const char*, size_t)>;

  absl::StatusOr<FetchedManifest> FetchManifestFrom(const RegistryEndpoint& endpoint,
                                                    const ImageReference& image,
                                                    const std::string& reference,
                                                    const RegistryCredentials& creds) {
    const std::string what = absl::StrCat("manifest ", image.path, ":", reference);
    absl::StatusOr<HttpResponse> r =
        Send(endpoint, image, absl::StrCat("/", image.path, "/manifests/", reference),
             {absl::StrCat("Accept: ", ManifestAcceptHeader())}, creds, what, nullptr, nullptr);
    if (!r.ok()) return r.status();
    if (r->status != 200) return StatusForHttp(*r, what);
    FetchedManifest m;
    m.body = std::move(r->body);
    m.content_type = r->Header("content-type");
    m.digest = Sha256::Of(m.body);
    if (absl::StartsWith(reference, "sha256:") && m.digest.String() != reference) {
      return absl::DataLossError(absl::StrCat(what,
                                              ": the registry sent a manifest whose digest "
                                              "is ",
                                              m.digest.String()));
    }
    const std::string claimed = r->Header("docker-content-digest");
    if (!claimed.empty() && claimed != m.digest.String()) {
      return absl::DataLossError(absl::StrCat(what, ": the registry says its digest is ", claimed,
                                              " but the bytes hash to ", m.digest.String()));
    }
    return m;
  }

  // One request with auth, mirror-independent retries, and the https->http fallback for
  // loopback registries. `begin` (may be null) is called before each attempt of a streamed body.
  absl::StatusOr<HttpResponse> Send(const RegistryEndpoint& endpoint, const ImageReference& image,
                                    const std::string& path, std::vector<std::string> headers,
                                    const RegistryCredentials& call_creds, const std::string& what,
                                    std::function<absl::Status()> begin, BodySink on_body) {
    const RegistryCredentials creds =
        call_creds.empty() ? hosts_.CredentialsFor(endpoint.host) : call_creds;
    const std::string scope = absl::StrCat("repository:", image.path, ":pull");
    Ping(endpoint, scope, creds);
    std::string api_root = ResolvedApiRoot(endpoint);
    bool authenticated_retry = false;
    absl::Status tls_error;  // set when a loopback registry was retried over plain HTTP
    absl::Duration backoff = options_.initial_backoff;
    for (int attempt = 1;; ++attempt) {
      HttpRequest req;
      req.url = api_root + path;
      req.headers = headers;
      req.tls = endpoint.tls;
      req.progress_timeout = options_.progress_timeout;
      if (on_body) {
        req.on_body = on_body;
      } else {
        req.max_buffered_body = kMaxManifestBytes;
      }
      if (std::string auth = CachedAuth(api_root, scope, creds); !auth.empty()) {
        req.headers.push_back(auth);
      }
      if (begin) {
        if (absl::Status s = begin(); !s.ok()) return s;
      }
      absl::StatusOr<HttpResponse> r = PerformHttp(req);
      if (!tls_error.ok() && (!r.ok() || r->status == 400)) {
        // Plain HTTP did not work either (a TLS server answers it with 400): the TLS failure
        // is the one that explains the problem.
        return absl::Status(tls_error.code(), absl::StrCat(what, ": ", tls_error.message()));
      }
      if (!r.ok()) {
        if (endpoint.http_fallback && absl::StartsWith(api_root, "https://") &&
            absl::IsUnavailable(r.status())) {
          // Docker's rule for loopback registries: plain HTTP when TLS does not answer.
          tls_error = r.status();
          api_root = absl::StrCat("http://", api_root.substr(8));
          --attempt;
          continue;
        }
        if (!absl::IsUnavailable(r.status()) || attempt >= options_.max_attempts) {
          return absl::Status(r.status().code(), absl::StrCat(what, ": ", r.status().message()));
        }
      } else if (!tls_error.ok() && api_root != ResolvedApiRoot(endpoint)) {
        RememberApiRoot(endpoint, api_root);  // plain HTTP works here: use it from now on
      }
      if (r.ok() && r->status == 401 && !authenticated_retry) {
        authenticated_retry = true;
        absl::Status auth =
            Authenticate(api_root, scope, r->Header("www-authenticate"), creds, endpoint.tls);
        if (!auth.ok()) return absl::Status(auth.code(), absl::StrCat(what, ": ", auth.message()));
        --attempt;
        continue;
      } else if (r.ok() && (!Retryable(r->status) || attempt >= options_.max_attempts)) {
        return r;
      }
      const absl::Duration jitter =
          absl::Milliseconds(std::uniform_int_distribution<int>(0, 100)(rng_));
      absl::SleepFor(backoff + jitter);
      backoff *= 2;
    }
  }

  // GET /v2/ once per endpoint: finds out whether a loopback registry speaks TLS, and what
  // authentication it wants, before the first real request. Failures are left for that
  // request to report.
  void Ping(const RegistryEndpoint& endpoint, const std::string& scope,
            const RegistryCredentials& creds) {
    {
      absl::MutexLock lock(&mu_);
      if (!pinged_.insert(endpoint.api_root).second) return;
    }
    HttpRequest req;
    req.url = endpoint.api_root + "/";
    req.tls = endpoint.tls;
    req.progress_timeout = options_.progress_timeout;
    absl::StatusOr<HttpResponse> r = PerformHttp(req);
    if (!r.ok() && endpoint.http_fallback && absl::IsUnavailable(r.status())) {
      const std::string plain = absl::StrCat("http://", endpoint.api_root.substr(8));
      req.url = plain + "/";
      r = PerformHttp(req);
      if (r.ok() && r->status != 400) RememberApiRoot(endpoint, plain);
    }
    if (r.ok() && r->status == 401) {
      Authenticate(ResolvedApiRoot(endpoint), scope, r->Header("www-authenticate"), creds,
                   endpoint.tls)
          .IgnoreError();
    }
  }

  std::string ResolvedApiRoot(const RegistryEndpoint& endpoint) {
    absl::MutexLock lock(&mu_);
    auto it = api_roots_.find(endpoint.api_root);
    return it == api_roots_.end() ? endpoint.api_root : it->second;
  }
  void RememberApiRoot(const RegistryEndpoint& endpoint, const std::string& root) {
    absl::MutexLock lock(&mu_);
    api_roots_[endpoint.api_root] = root;
  }

  std::string BasicHeader(const RegistryCredentials& creds) {
    return absl::StrCat("Authorization: Basic ",
                        absl::Base64Escape(absl::StrCat(creds.username, ":", creds.password)));
  }

  // The Authorization header to send to `api_root` for `scope`, if we hold one.
  std::string CachedAuth(const std::string& api_root, const std::string& scope,
                         const RegistryCredentials& creds) {
    absl::MutexLock lock(&mu_);
    auto scheme = schemes_.find(api_root);
    if (scheme == schemes_.end()) return "";
    if (scheme->second == "basic") return creds.username.empty() ? "" : BasicHeader(creds);
    auto token = tokens_.find(TokenKey(api_root, scope, creds));
    if (token == tokens_.end() || token->second.expires <= absl::Now()) return "";
    return token->second.header;
  }

  static std::string TokenKey(const std::string& api_root, const std::string& scope,
                              const RegistryCredentials& creds) {
    return absl::StrCat(api_root, "|", scope, "|", creds.username, "|",
                        creds.registry_token.empty() ? "" : "t");
  }

  absl::Status Authenticate(const std::string& api_root, const std::string& scope,
                            const std::string& header, const RegistryCredentials& creds,
                            const TlsSettings& tls) {
    AuthChallenge challenge = ParseAuthChallenge(header);
    if (challenge.scheme == "basic") {
      if (creds.username.empty()) {
        return absl::UnauthenticatedError(
            "the registry requires a username and password (Basic auth) and none were given");
      }
      absl::MutexLock lock(&mu_);
      schemes_[api_root] = "basic";
      return absl::OkStatus();
    }
    if (challenge.scheme != "bearer") {
      return absl::UnauthenticatedError(
          absl::StrCat("the registry asks for unsupported authentication \"", header, "\""));
    }
    CachedToken token;
    if (!creds.registry_token.empty()) {
      token = {absl::StrCat("Authorization: Bearer ", creds.registry_token),
               absl::InfiniteFuture()};
    } else {
      absl::StatusOr<CachedToken> fetched = FetchToken(challenge, scope, creds, tls);
      if (!fetched.ok()) return fetched.status();
      token = *std::move(fetched);
    }
    absl::MutexLock lock(&mu_);
    schemes_[api_root] = "bearer";
    tokens_[TokenKey(api_root, scope, creds)] = std::move(token);
    return absl::OkStatus();
  }

  absl::StatusOr<CachedToken> FetchToken(const AuthChallenge& challenge, const std::string& scope,
                                         const RegistryCredentials& creds, const TlsSettings& tls) {
    auto realm = challenge.params.find("realm");
    if (realm == challenge.params.end() || realm->second.empty()) {
      return absl::UnauthenticatedError("the registry's Bearer challenge names no token realm");
    }
    std::string url = realm->second;
    std::vector<std::string> query;
    if (auto service = challenge.params.find("service"); service != challenge.params.end()) {
      query.push_back(absl::StrCat("service=", UrlEscape(service->second)));
    }
    query.push_back(absl::StrCat("scope=", UrlEscape(scope)));
    absl::StrAppend(&url, url.find('?') == std::string::npos ? "?" : "&",
                    absl::StrJoin(query, "&"));
    HttpRequest req;
    req.url = url;
    req.tls = tls;
    req.progress_timeout = options_.progress_timeout;
    if (!creds.username.empty()) req.headers.push_back(BasicHeader(creds));
    absl::StatusOr<HttpResponse> r = PerformHttp(req);
    if (!r.ok()) return r.status();
    if (r->status != 200) return StatusForHttp(*r, "token request");
    Json doc = Json::parse(r->body, nullptr, false);
    std::string token;
    if (doc.is_object()) token = doc.value("token", doc.value("access_token", ""));
    if (token.empty()) return absl::UnauthenticatedError("the token service returned no token");
    int64_t expires_in = doc.value("expires_in", int64_t{60});
    if (expires_in < 60) expires_in = 60;  // the distribution spec's minimum
    // Renew a little early so a token never expires mid-request.
    return CachedToken{absl::StrCat("Authorization: Bearer ", token),
                       absl::Now() + absl::Seconds(expires_in - 10)};
  }

  static std::string UrlEscape(absl::string_view s) {
    std::string out;
    for (char c : s) {
      if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
        out.push_back(c);
      } else {
        absl::StrAppend(&out, "%",
                        absl::AsciiStrToUpper(absl::BytesToHexString(absl::string_view(&c, 1))));
      }
    }
    return out;
  }

  const RegistryHosts& hosts_;
  RegistryClientOptions options_;
  absl::Mutex mu_;
  std::map<std::string, std::string> schemes_ ABSL_GUARDED_BY(mu_);    // api root -> scheme
  std::map<std::string, CachedToken> tokens_ ABSL_GUARDED_BY(mu_);     // TokenKey -> token
  std::map<std::string, std::string> api_roots_ ABSL_GUARDED_BY(mu_);  // https -> http fallback
  std::set<std::string> pinged_ ABSL_GUARDED_BY(mu_);
  std::mt19937 rng_{std::random_device{}()};
};

}  // namespace

AuthChallenge ParseAuthChallenge(absl::string_view header) {
  AuthChallenge c;
  header = absl::StripAsciiWhitespace(header);
  const size_t space = header.find(' ');
  c.scheme = absl::AsciiStrToLower(header.substr(0, space));
  if (space == absl::string_view::npos) return c;
  absl::string_view rest = header.substr(space + 1);
  while (!rest.empty()) {
    rest = absl::StripLeadingAsciiWhitespace(rest);
    const size_t eq = rest.find('=');
    if (eq == absl::string_view::npos) break;
    std::string key = absl::AsciiStrToLower(absl::StripAsciiWhitespace(rest.substr(0, eq)));
    rest = rest.substr(eq + 1);
    std::string value;
    if (!rest.empty() && rest.front() == '"') {
      size_t i = 1;
      for (; i < rest.size() && rest[i] != '"'; ++i) {
        if (rest[i] == '\\' && i + 1 < rest.size()) ++i;
        value.push_back(rest[i]);
      }
      rest = rest.substr(std::min(rest.size(), i + 1));
    } else {
      const size_t comma = rest.find(',');
      value = std::string(absl::StripAsciiWhitespace(rest.substr(0, comma)));
      rest = comma == absl::string_view::npos ? "" : rest.substr(comma);
    }
    c.params[key] = value;
    rest = absl::StripLeadingAsciiWhitespace(rest);
    if (!rest.empty() && rest.front() == ',') rest = rest.substr(1);
  }
  return c;
}

std::unique_ptr<Registry> NewDistributionRegistry(const RegistryHosts& hosts,
                                                  const RegistryClientOptions& options) {
  return std::make_unique<DistributionRegistry>(hosts, options);
}

}  // namespace stockade
