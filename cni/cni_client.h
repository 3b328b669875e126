// A CNI runtime (spec 1.0.0; 0.4.0 results read too): runs the plugin chain of the node's
// network configuration for ADD, DEL and CHECK, with the environment, capability arguments
// (runtimeConfig) and prevResult chaining the spec defines, a timeout per plugin call, and the
// plugin's own error message passed through.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace stockade {

struct CniPortMapping {
  int host_port = 0;
  int container_port = 0;
  std::string protocol = "tcp";  // lower case, as portmap expects
  std::string host_ip;
};

// What the runtime tells the plugins about one pod.
struct CniPodRequest {
  std::string container_id;  // the pod sandbox ID
  std::string netns;         // Linux: the netns path; FreeBSD: the jail name
  std::string ifname = "eth0";
  std::string pod_namespace, pod_name, pod_uid;
  std::vector<CniPortMapping> port_mappings;
  std::vector<std::string> dns_servers, dns_searches, dns_options;
  std::vector<std::string> ip_ranges;  // subnets (the node's pod CIDRs) for the ipRanges cap
  int64_t ingress_bits_per_second = 0, egress_bits_per_second = 0;  // 0: not limited
};

struct CniResult {
  std::string cni_version;
  std::vector<std::string> ips;  // the pod's addresses, without prefix length; IPv4 first
  std::string json;              // the final result, as the chain returned it
};

struct CniOptions {
  std::string conf_dir;
  std::vector<std::string> bin_dirs;
  absl::Duration timeout = absl::Seconds(60);  // per plugin call
};

// One network configuration, loaded from a file; a single-plugin .conf is treated as a list
// of one.
class CniNetwork {
 public:
  // The first valid config in the directory, in lexical order (as DiscoverNetworkConfig).
  static absl::StatusOr<CniNetwork> Load(const CniOptions& options);
  // A config given as text (the one recorded at ADD time, for DEL and CHECK).
  static absl::StatusOr<CniNetwork> FromJson(const std::string& json, const CniOptions& options);

  const std::string& name() const { return name_; }
  const std::string& json() const { return json_; }

  // Runs ADD through the chain. If a plugin fails, DEL runs through the plugins already
  // added, so that nothing is left behind, and the plugin's message is returned.
  absl::StatusOr<CniResult> Add(const CniPodRequest& pod) const;
  // DEL in reverse order, with the cached result as prevResult ("" if none).
  absl::Status Del(const CniPodRequest& pod, const std::string& cached_result) const;
  absl::Status Check(const CniPodRequest& pod, const std::string& cached_result) const;

 private:
  CniNetwork() = default;
  static absl::StatusOr<CniNetwork> FromJsonUnchecked(const std::string& json,
                                                      const CniOptions& options);
  std::string name_, cni_version_, json_;
  std::vector<std::string> plugins_;  // each plugin's config object, as JSON text
  CniOptions options_;
};

// The pod addresses of a result (1.0.0 or 0.4.0): those on interfaces inside the sandbox, or
// all when the result names no interfaces; without their prefix lengths; IPv4 first.
absl::StatusOr<std::vector<std::string>> PodIpsFromResult(const std::string& result_json);

}  // namespace stockade
