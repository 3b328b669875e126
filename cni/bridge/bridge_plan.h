// stockade-bridge's plain logic, unit-tested on any OS: its network config, the names it gives
// host interfaces, the nftables commands for NAT and hostPorts, and the CNI result it prints.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

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
  // "" publishes on every local address of both families, "0.0.0.0" / "::" on every address of
  // one; anything else on that address only (its family decides which pod address it reaches).
  std::string host_ip;
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

// The bridge's own MAC, set when it is made: locally administered, unicast, from a hash of its
// name (so a bridge made again after a reboot has the same one). Without it Linux gives a bridge
// the lowest MAC of its ports, which changes as pods come and go; each change flushes the
// bridge's neighbour table and leaves every pod's entry for the gateway stale.
std::array<uint8_t, 6> BridgeMac(const std::string& bridge);

// An address within a subnet: the address (without prefix) of offset `n` (0 = the network
// address), or OutOfRange past its end.
absl::StatusOr<std::string> AddressAt(const std::string& subnet, uint64_t n);
// How many addresses the allocator may hand out in `subnet` (network, gateway and, for IPv4,
// broadcast excluded; IPv6 capped at 65536).
uint64_t AllocatableAddresses(const std::string& subnet);
int PrefixLength(const std::string& subnet);
// The offset of `address` in `subnet`; OutOfRange when it is not in it.
absl::StatusOr<uint64_t> OffsetIn(const std::string& subnet, const std::string& address);

// nftables, one table per family ("ip" and "ip6", both named stockade), shared by every
// network: sets of the pod subnets (and of those masqueraded), maps of hostPorts (wildcard:
// proto . port; one address: daddr . proto . port), and rules over them, made once. Per subnet
// and per pod only elements change, so nothing is tracked by rule handle, and a subnet's
// elements go with its network's last pod.
enum class NftFamily { kIp, kIp6 };
absl::string_view NftFamilyName(NftFamily f);  // "ip" or "ip6"
NftFamily FamilyOf(const std::string& address_or_subnet);
std::vector<std::string> NftBaseCommands(NftFamily f);
// A marker that the listing of a table made by NftBaseCommands contains (an older layout,
// made by an earlier plugin, lacks it and is replaced).
inline constexpr absl::string_view kNftLayoutMarker = "set masq_subnets";
// The elements of set `set` in `listing` (`nft list table <family> stockade`), as nft prints
// them ("10.88.0.0/16"); empty when the set is missing or has none.
std::vector<std::string> NftSetElements(absl::string_view listing, absl::string_view set);
// The elements of map `map` in `listing`, each as nft prints it ("tcp . 80 : 10.88.0.5 . 80").
std::vector<std::string> NftMapElements(absl::string_view listing, absl::string_view map);
// The additions of `subnet` to the pod (and, with `masquerade`, masquerade) subnets that
// `listing` does not show already: a pod joining a known subnet commits nothing, and a commit
// is what makes nf_tables wait a grace period when its socket closes.
std::vector<std::string> NftAddSubnet(const std::string& subnet, bool masquerade,
                                      absl::string_view listing = "");
std::vector<std::string> NftDeleteSubnet(const std::string& subnet);
// The map elements publishing `ports` on the pod's address of `pod_ip`'s family (mappings whose
// host_ip is of the other family are skipped). Empty when nothing applies.
// `listing` (`nft list table <family> stockade`, when known): a key that still points at
// another address (a pod whose DEL never came) is deleted first in the same transaction, so the
// new pod takes its port rather than failing on "File exists" until someone flushes the map.
std::vector<std::string> NftAddHostPorts(const std::vector<HostPort>& ports,
                                         const std::string& pod_ip, absl::string_view listing = "");
// The deletions of the same keys; `listing` is `nft list table <family> stockade`: only keys
// that still point at `pod_ip` are deleted (another pod may have taken a port since).
std::vector<std::string> NftDeleteHostPorts(const std::vector<HostPort>& ports,
                                            const std::string& pod_ip, const std::string& listing);

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
