// Where and how to reach a registry: per registry host, the mirror endpoints tried in order
// before the host itself, plain HTTP or TLS settings, and credentials. Settings come from
// stockaded's YAML config and, so that existing set-ups carry over, from containerd's
// hosts.toml directory (`<dir>/<host>/hosts.toml`, `<dir>/_default/hosts.toml`).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "imagestore/http_client.h"

namespace stockade {

// One registry host's settings in the YAML config (`images.registries.<host>`).
struct RegistryHostSettings {
  std::vector<std::string> mirrors;  // endpoint URLs, e.g. "http://127.0.0.1:5000"
  bool plain_http = false;           // reach the host itself over http://
  TlsSettings tls;                   // for connections to this host (as origin or mirror)
  std::string username;
  std::string password;
};

struct RegistryEndpoint {
  std::string api_root;  // URL prefix that "/<repo>/manifests/<ref>" follows, ending in /v2
  std::string host;      // host[:port] of the endpoint, for settings and credentials
  TlsSettings tls;
  bool is_mirror = false;
  // Loopback registries are tried over https first, then plain http, as Docker does.
  bool http_fallback = false;
};

struct RegistryCredentials {
  std::string username;
  std::string password;
  std::string registry_token;  // a bearer token to use as-is (CRI AuthConfig.registry_token)
  bool empty() const { return username.empty() && password.empty() && registry_token.empty(); }
};

class RegistryHosts {
 public:
  RegistryHosts(std::map<std::string, RegistryHostSettings> settings, std::string hosts_dir)
      : settings_(std::move(settings)), hosts_dir_(std::move(hosts_dir)) {}

  // The endpoints for an image's registry domain, in the order to try them. A hosts.toml for
  // the domain (or _default) wins over the YAML mirrors; it is read on every call, so an
  // edit applies to the next pull. InvalidArgument names the file and the problem.
  absl::StatusOr<std::vector<RegistryEndpoint>> EndpointsFor(absl::string_view domain) const;

  // Credentials from the YAML config for an endpoint host (none: empty).
  RegistryCredentials CredentialsFor(absl::string_view host) const;

 private:
  absl::StatusOr<std::vector<RegistryEndpoint>> FromHostsToml(absl::string_view domain,
                                                              const std::string& path) const;
  RegistryEndpoint EndpointFromUrl(absl::string_view url, bool is_mirror, bool override_path) const;
  RegistryEndpoint Origin(absl::string_view domain) const;

  std::map<std::string, RegistryHostSettings> settings_;
  std::string hosts_dir_;
};

// The URL Docker Hub's API really lives at.
inline constexpr absl::string_view kDockerHubApiHost = "registry-1.docker.io";

bool IsLoopbackHost(absl::string_view host);

}  // namespace stockade
