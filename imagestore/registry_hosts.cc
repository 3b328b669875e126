#include "imagestore/registry_hosts.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
// Errors as values: parse_result carries them instead of exceptions.
#define TOML_EXCEPTIONS 0
#include "toml++/toml.h"

namespace stockade {
namespace {

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// host[:port] of a URL ("https://a.b:5000/x" -> "a.b:5000").
std::string UrlHost(absl::string_view url) {
  absl::string_view rest = url;
  if (size_t scheme = rest.find("://"); scheme != absl::string_view::npos) {
    rest = rest.substr(scheme + 3);
  }
  return std::string(rest.substr(0, rest.find('/')));
}

// The [host."<url>"] headers in file order: toml++ tables are sorted by key, but the order of
// mirrors is the order they are written in.
std::vector<std::string> HostOrder(const std::string& text) {
  std::vector<std::string> order;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    absl::string_view l = absl::StripAsciiWhitespace(line);
    if (!absl::ConsumePrefix(&l, "[host.\"")) continue;
    const size_t end = l.find('"');
    if (end != absl::string_view::npos) order.emplace_back(l.substr(0, end));
  }
  return order;
}

absl::Status Problem(const std::string& path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
}

}  // namespace

bool IsLoopbackHost(absl::string_view host) {
  absl::string_view name = host;
  if (absl::StartsWith(name, "[")) {
    name = name.substr(1, name.find(']') - 1);
  } else if (size_t colon = name.rfind(':'); colon != absl::string_view::npos) {
    name = name.substr(0, colon);
  }
  return name == "localhost" || name == "::1" || absl::StartsWith(name, "127.");
}

RegistryEndpoint RegistryHosts::EndpointFromUrl(absl::string_view url, bool is_mirror,
                                                bool override_path) const {
  RegistryEndpoint e;
  e.host = UrlHost(url);
  e.is_mirror = is_mirror;
  std::string root(absl::StripSuffix(url, "/"));
  if (!absl::StrContains(root, "://")) root = absl::StrCat("https://", root);
  e.api_root = override_path ? root : absl::StrCat(root, "/v2");
  if (auto it = settings_.find(e.host); it != settings_.end()) e.tls = it->second.tls;
  return e;
}

RegistryEndpoint RegistryHosts::Origin(absl::string_view domain) const {
  const std::string api_host =
      domain == "docker.io" ? std::string(kDockerHubApiHost) : std::string(domain);
  auto it = settings_.find(std::string(domain));
  const bool plain = it != settings_.end() && it->second.plain_http;
  RegistryEndpoint e = EndpointFromUrl(absl::StrCat(plain ? "http://" : "https://", api_host),
                                       /*is_mirror=*/false, false);
  if (it != settings_.end()) e.tls = it->second.tls;
  e.http_fallback = !plain && IsLoopbackHost(api_host);
  return e;
}

absl::StatusOr<std::vector<RegistryEndpoint>> RegistryHosts::EndpointsFor(
    absl::string_view domain) const {
  if (!hosts_dir_.empty()) {
    for (const std::string& dir : {std::string(domain), std::string("_default")}) {
      const std::string path = absl::StrCat(hosts_dir_, "/", dir, "/hosts.toml");
      if (FileExists(path)) return FromHostsToml(domain, path);
    }
  }
  std::vector<RegistryEndpoint> out;
  if (auto it = settings_.find(std::string(domain)); it != settings_.end()) {
    for (const std::string& mirror : it->second.mirrors) {
      out.push_back(EndpointFromUrl(mirror, /*is_mirror=*/true, false));
    }
  }
  out.push_back(Origin(domain));
  return out;
}

absl::StatusOr<std::vector<RegistryEndpoint>> RegistryHosts::FromHostsToml(
    absl::string_view domain, const std::string& path) const {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  toml::parse_result parsed = toml::parse(text.str(), path);
  if (!parsed) {
    const auto& err = parsed.error();
    return Problem(
        path, absl::StrCat("line ", err.source().begin.line, ": ", std::string(err.description())));
  }
  const toml::table& doc = parsed.table();
  std::vector<RegistryEndpoint> out;
  const toml::table* hosts = doc["host"].as_table();
  for (const std::string& url : HostOrder(text.str())) {
    const toml::table* h = hosts != nullptr ? (*hosts)[url].as_table() : nullptr;
    if (h == nullptr) continue;
    // Only hosts that may pull or resolve serve images.
    if (const toml::array* caps = (*h)["capabilities"].as_array(); caps != nullptr) {
      bool pull = false;
      for (const toml::node& c : *caps) pull |= c.value_or(std::string()) == "pull";
      if (!pull) continue;
    }
    RegistryEndpoint e =
        EndpointFromUrl(url, /*is_mirror=*/true, (*h)["override_path"].value_or(false));
    if (auto skip = (*h)["skip_verify"].value<bool>()) e.tls.skip_verify = *skip;
    if (auto ca = (*h)["ca"].value<std::string>()) {
      e.tls.ca_file = *ca;
    } else if (const toml::array* cas = (*h)["ca"].as_array(); cas && !cas->empty()) {
      e.tls.ca_file = (*cas)[0].value_or(std::string());
    }
    if (auto client = (*h)["client"].value<std::string>()) {
      e.tls.cert_file = *client;
    } else if (const toml::array* pairs = (*h)["client"].as_array(); pairs && !pairs->empty()) {
      if (const toml::array* pair = (*pairs)[0].as_array(); pair && pair->size() == 2) {
        e.tls.cert_file = (*pair)[0].value_or(std::string());
        e.tls.key_file = (*pair)[1].value_or(std::string());
      } else {
        e.tls.cert_file = (*pairs)[0].value_or(std::string());
      }
    }
    out.push_back(std::move(e));
  }
  // The upstream itself comes last; `server` replaces it.
  if (auto server = doc["server"].value<std::string>()) {
    RegistryEndpoint e = EndpointFromUrl(*server, /*is_mirror=*/false, false);
    if (auto skip = doc["skip_verify"].value<bool>()) e.tls.skip_verify = *skip;
    if (auto ca = doc["ca"].value<std::string>()) e.tls.ca_file = *ca;
    out.push_back(std::move(e));
  } else {
    out.push_back(Origin(domain));
  }
  return out;
}

RegistryCredentials RegistryHosts::CredentialsFor(absl::string_view host) const {
  RegistryCredentials c;
  auto it = settings_.find(std::string(host));
  if (it == settings_.end() && host == kDockerHubApiHost) it = settings_.find("docker.io");
  if (it != settings_.end()) {
    c.username = it->second.username;
    c.password = it->second.password;
  }
  return c;
}

}  // namespace stockade
