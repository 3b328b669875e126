// The seam between the runtime core and pod networking: attach a pod's network namespace (or
// jail) to the node's pod network, and detach it. The daemon's implementation runs the CNI
// plugin chain (runtime/cni_pod_network.cc); tests use a fake.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace stockade {

struct PortMapping {
  int host_port = 0;
  int container_port = 0;
  std::string protocol = "tcp";  // tcp, udp, sctp
  std::string host_ip;
};

struct PodNetworkRequest {
  std::string pod_id, name, ns, uid;
  std::string netns;  // Linux: the bound network namespace; FreeBSD: the jail name
  std::vector<PortMapping> port_mappings;
  std::vector<std::string> dns_servers, dns_searches, dns_options;
  int64_t ingress_bits_per_second = 0, egress_bits_per_second = 0;
};

struct PodNetworkAttachment {
  std::vector<std::string> ips;  // the pod's addresses, IPv4 first
  std::string saved;  // what Detach needs later (kept in the pod's record), opaque to the core
};

class PodNetwork {
 public:
  virtual ~PodNetwork() = default;
  // Nothing is left attached on failure; the error carries the plugin's message.
  virtual absl::StatusOr<PodNetworkAttachment> Attach(const PodNetworkRequest& request) = 0;
  // `saved` is what Attach returned ("" if the daemon died before it could record it).
  virtual absl::Status Detach(const PodNetworkRequest& request, const std::string& saved) = 0;
  // Whether the attachment is still as Attach left it (CNI CHECK).
  virtual absl::Status Check(const PodNetworkRequest& request, const std::string& saved) = 0;
};

}  // namespace stockade
