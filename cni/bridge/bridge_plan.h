// stockade-bridge's plain logic, unit-tested on any OS: its network config, the names it gives
// host interfaces, the nftables commands for NAT and hostPorts, and the CNI result it prints.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace stockade::bridge {

struct AddressRange {
  std::string subnet;   // CIDR, e.g. "10.88.0.0/16" or "fd88::/64"
  std::string gateway;  // default: the subnet's first address
  // Offsets in the subnet that pods get addresses from (rangeStart, rangeEnd); 0: from the
  // first address after the gateway / to the last usable one.
  uint64_t first = 0, last = 0;
  bool v6() const { return subnet.find(':') != std::string::npos; }
};

struct HostPort {
  int host_port = 0;
  int container_port = 0;
  std::string protocol = "tcp";
};

// The plugin's config (CNI network config plus runtimeConfig).
struct BridgeConfig {
  std::string cni_version = "1.0.0";
  std::string name;
  std::string bridge = "stockade0";
  int mtu = 1500;
  bool hairpin = true;
  bool ip_masq = true;
  std::vector<AddressRange> ranges;  // at most one IPv4 and one IPv6
  std::string data_dir = "/var/lib/stockade-bridge";
  std::vector<HostPort> port_mappings;
};

// InvalidArgument naming the field for anything malformed.
absl::StatusOr<BridgeConfig> ParseBridgeConfig(const std::string& json);

// "stk" + 8 hex characters of a hash of the container ID and interface: unique per pod
// interface, stable across calls (so ADD and DEL agree), within IFNAMSIZ.
std::string HostVethName(const std::string& container_id, const std::string& ifname);

// An address within a subnet: the address (without prefix) of offset `n` (0 = the network
// address), or OutOfRange past its end.
absl::StatusOr<std::string> AddressAt(const std::string& subnet, uint64_t n);
// How many addresses the allocator may hand out in `subnet` (network, gateway and, for IPv4,
// broadcast excluded; IPv6 capped at 65536).
uint64_t AllocatableAddresses(const std::string& subnet);
int PrefixLength(const std::string& subnet);
// The offset of `address` in `subnet`; OutOfRange when it is not in it.
absl::StatusOr<uint64_t> OffsetIn(const std::string& subnet, const std::string& address);

// nftables: the table, chains and map every network shares (made once), the rules for one
// subnet (masquerade of outbound, of hostPort traffic from the host's loopback and of hairpin
// traffic), and one pod's hostPort map elements.
std::vector<std::string> NftBaseCommands();
std::vector<std::string> NftSubnetRules(const std::string& subnet, bool masquerade);
std::string NftAddHostPorts(const std::vector<HostPort>& ports, const std::string& pod_ip);
std::string NftDeleteHostPorts(const std::vector<HostPort>& ports);

struct AddedInterface {
  std::string name, mac, sandbox;  // sandbox: the netns path, "" for host interfaces
};
struct AddedAddress {
  std::string address;  // with prefix length
  std::string gateway;
  int interface = 0;
};
// The CNI 1.0.0 (or 0.4.0) ADD result.
std::string ResultJson(const std::string& cni_version,
                       const std::vector<AddedInterface>& interfaces,
                       const std::vector<AddedAddress>& addresses);

// The CNI error document.
std::string ErrorJson(const std::string& cni_version, int code, const std::string& message,
                      const std::string& details = "");

}  // namespace stockade::bridge
