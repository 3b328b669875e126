// The /etc/resolv.conf a pod gets: built from the CRI DNSConfig when it has any content
// ("search a b", one "nameserver" line per server, "options o1 o2"), else the node's file,
// as containerd does.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace stockade {

struct DnsSettings {
  std::vector<std::string> servers;
  std::vector<std::string> searches;
  std::vector<std::string> options;
  bool empty() const { return servers.empty() && searches.empty() && options.empty(); }
};

// InvalidArgument for a server that is not an IPv4/IPv6 address or a search domain or option
// with whitespace (it would break the file's syntax).
absl::StatusOr<std::string> BuildResolvConf(const DnsSettings& dns, const std::string& node_file);

}  // namespace stockade
