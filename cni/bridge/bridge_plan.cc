#include "cni/bridge/bridge_plan.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"

namespace stockade::bridge {
namespace {

using Json = nlohmann::json;
using U128 = unsigned __int128;

struct Subnet {
  bool v6 = false;
  U128 network = 0;
  int prefix = 0;
};

// The address in the form nft lists it (inet_ntop's), or nullopt when it is not an address.
std::optional<std::string> CanonicalAddress(const std::string& address) {
  const int af = address.find(':') != std::string::npos ? AF_INET6 : AF_INET;
  unsigned char buf[sizeof(in6_addr)];
  char text[INET6_ADDRSTRLEN];
  if (::inet_pton(af, address.c_str(), buf) != 1) return std::nullopt;
  if (::inet_ntop(af, buf, text, sizeof(text)) == nullptr) return std::nullopt;
  return std::string(text);
}

absl::StatusOr<Subnet> ParseSubnet(const std::string& cidr) {
  const size_t slash = cidr.find('/');
  if (slash == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("subnet \"", cidr, "\" has no /prefix"));
  }
  Subnet s;
  s.v6 = cidr.find(':') != std::string::npos;
  const std::string address = cidr.substr(0, slash);
  if (!absl::SimpleAtoi(cidr.substr(slash + 1), &s.prefix) || s.prefix < 0 ||
      s.prefix > (s.v6 ? 128 : 32)) {
    return absl::InvalidArgumentError(absl::StrCat("subnet \"", cidr, "\" has a bad prefix"));
  }
  if (s.v6) {
    in6_addr a;
    if (::inet_pton(AF_INET6, address.c_str(), &a) != 1) {
      return absl::InvalidArgumentError(absl::StrCat("subnet \"", cidr, "\" is not IPv6"));
    }
    for (uint8_t byte : a.s6_addr) s.network = (s.network << 8) | byte;
  } else {
    in_addr a;
    if (::inet_pton(AF_INET, address.c_str(), &a) != 1) {
      return absl::InvalidArgumentError(absl::StrCat("subnet \"", cidr, "\" is not IPv4"));
    }
    s.network = ntohl(a.s_addr);
  }
  const int bits = s.v6 ? 128 : 32;
  if (s.prefix == 0) {
    s.network = 0;  // a shift by the full width would be undefined
  } else if (s.prefix < bits) {
    const U128 host_mask = (U128(1) << (bits - s.prefix)) - 1;
    s.network &= ~host_mask;
  }
  return s;
}

std::string Format(bool v6, U128 value) {
  char text[INET6_ADDRSTRLEN] = {};
  if (v6) {
    in6_addr a;
    for (int i = 15; i >= 0; --i) {
      a.s6_addr[i] = static_cast<uint8_t>(value & 0xff);
      value >>= 8;
    }
    ::inet_ntop(AF_INET6, &a, text, sizeof(text));
  } else {
    in_addr a;
    a.s_addr = htonl(static_cast<uint32_t>(value));
    ::inet_ntop(AF_INET, &a, text, sizeof(text));
  }
  return text;
}

}  // namespace

int PrefixLength(const std::string& subnet) {
  absl::StatusOr<Subnet> s = ParseSubnet(subnet);
  return s.ok() ? s->prefix : 0;
}

absl::StatusOr<std::string> AddressAt(const std::string& subnet, uint64_t n) {
  absl::StatusOr<Subnet> s = ParseSubnet(subnet);
  if (!s.ok()) return s.status();
  const int host_bits = (s->v6 ? 128 : 32) - s->prefix;
  if (host_bits < 64 && n >= (uint64_t{1} << host_bits)) {
    return absl::OutOfRangeError(absl::StrCat("offset ", n, " is outside ", subnet));
  }
  return Format(s->v6, s->network + n);
}

absl::StatusOr<uint64_t> OffsetIn(const std::string& subnet, const std::string& address) {
  absl::StatusOr<Subnet> s = ParseSubnet(subnet);
  if (!s.ok()) return s.status();
  absl::StatusOr<Subnet> a = ParseSubnet(absl::StrCat(address, s->v6 ? "/128" : "/32"));
  if (!a.ok() || a->v6 != s->v6) {
    return absl::InvalidArgumentError(absl::StrCat("\"", address, "\" is not an address"));
  }
  const int host_bits = (s->v6 ? 128 : 32) - s->prefix;
  const U128 offset = a->network - s->network;
  if (a->network < s->network || (host_bits < 128 && offset >> host_bits != 0)) {
    return absl::OutOfRangeError(absl::StrCat(address, " is not in ", subnet));
  }
  return static_cast<uint64_t>(offset);
}

uint64_t AllocatableAddresses(const std::string& subnet) {
  absl::StatusOr<Subnet> s = ParseSubnet(subnet);
  if (!s.ok()) return 0;
  const int host_bits = (s->v6 ? 128 : 32) - s->prefix;
  if (host_bits >= 17) return s->v6 ? 65536 : (uint64_t{1} << host_bits) - 3;
  const uint64_t size = uint64_t{1} << host_bits;
  const uint64_t reserved = s->v6 ? 2 : 3;  // network, gateway (, broadcast)
  return size > reserved ? size - reserved : 0;
}

namespace {

absl::StatusOr<BridgeConfig> ParseBridgeConfigUnchecked(const std::string& text) {
  Json doc = Json::parse(text, nullptr, false);
  if (!doc.is_object()) return absl::InvalidArgumentError("the network config is not JSON");
  BridgeConfig c;
  c.cni_version = doc.value("cniVersion", c.cni_version);
  c.name = doc.value("name", "");
  if (c.name.empty() || c.name.find('/') != std::string::npos || c.name[0] == '.') {
    return absl::InvalidArgumentError("\"name\" must be a plain, non-empty network name");
  }
  c.bridge = doc.value("bridge", c.bridge);
  if (c.bridge.empty() || c.bridge.size() > 15) {
    return absl::InvalidArgumentError("\"bridge\" must be an interface name of 1-15 characters");
  }
  if (doc.contains("mtu") && (!doc["mtu"].is_number_integer() || doc["mtu"].get<int>() < 68 ||
                              doc["mtu"].get<int>() > 65535)) {
    return absl::InvalidArgumentError("\"mtu\" must be a number between 68 and 65535");
  }
  c.mtu = doc.value("mtu", c.mtu);
  c.hairpin = doc.value("hairpinMode", c.hairpin);
  c.ip_masq = doc.value("ipMasq", c.ip_masq);
  const Json ipam = doc.value("ipam", Json::object());
  c.data_dir = ipam.value("dataDir", c.data_dir);
  const Json ranges = ipam.value("ranges", Json::array());
  if (!ranges.is_array() || ranges.empty()) {
    return absl::InvalidArgumentError("\"ipam.ranges\" must list at least one subnet");
  }
  bool have_v4 = false, have_v6 = false;
  for (const Json& r : ranges) {
    AddressRange range;
    range.subnet = r.is_object() ? r.value("subnet", "") : "";
    absl::StatusOr<Subnet> s = ParseSubnet(range.subnet);
    if (!s.ok())
      return absl::InvalidArgumentError(absl::StrCat("ipam.ranges: ", s.status().message()));
    if ((s->v6 ? have_v6 : have_v4)) {
      return absl::InvalidArgumentError("ipam.ranges: one IPv4 and one IPv6 subnet at most");
    }
    (s->v6 ? have_v6 : have_v4) = true;
    // Normalised (host bits cleared), as nft prints it back.
    range.subnet = absl::StrCat(Format(s->v6, s->network), "/", s->prefix);
    if (AllocatableAddresses(range.subnet) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("ipam.ranges: ", range.subnet, " is too small for any pod"));
    }
    range.gateway = r.value("gateway", "");
    if (range.gateway.empty()) range.gateway = *AddressAt(range.subnet, 1);
    if (!OffsetIn(range.subnet, range.gateway).ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("ipam.ranges: gateway ", range.gateway, " is not in ", range.subnet));
    }
    for (const char* key : {"rangeStart", "rangeEnd"}) {
      const std::string bound = r.value(key, "");
      if (bound.empty()) continue;
      absl::StatusOr<uint64_t> offset = OffsetIn(range.subnet, bound);
      if (!offset.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("ipam.ranges: ", key, ": ", offset.status().message()));
      }
      (std::string(key) == "rangeStart" ? range.first : range.last) = *offset;
    }
    if (range.first != 0 && range.last != 0 && range.first > range.last) {
      return absl::InvalidArgumentError("ipam.ranges: rangeStart is after rangeEnd");
    }
    c.ranges.push_back(range);
  }
  const Json maps = doc.value("runtimeConfig", Json::object()).value("portMappings", Json::array());
  for (const Json& m : maps) {
    HostPort p{m.value("hostPort", 0), m.value("containerPort", 0), m.value("protocol", "tcp"),
               m.value("hostIP", "")};
    if (p.host_port <= 0 || p.host_port > 65535 || p.container_port <= 0 ||
        p.container_port > 65535 || (p.protocol != "tcp" && p.protocol != "udp")) {
      return absl::InvalidArgumentError(
          "runtimeConfig.portMappings: ports 1-65535 and protocol tcp or udp");
    }
    if (!p.host_ip.empty()) {
      std::optional<std::string> canonical = CanonicalAddress(p.host_ip);
      if (!canonical) {
        return absl::InvalidArgumentError(absl::StrCat("runtimeConfig.portMappings: hostIP \"",
                                                       p.host_ip, "\" is not an IP address"));
      }
      p.host_ip = *canonical;
    }
    c.port_mappings.push_back(p);
  }
  return c;
}

}  // namespace

absl::StatusOr<BridgeConfig> ParseBridgeConfig(const std::string& text) {
  // A field of the wrong type makes nlohmann::json throw: that is a bad config too.
  try {
    return ParseBridgeConfigUnchecked(text);
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("the network config is malformed: ", e.what()));
  }
}

namespace {
uint32_t Fnv1a(absl::string_view text) {
  uint32_t h = 2166136261u;
  for (char ch : text) {
    h ^= static_cast<uint8_t>(ch);
    h *= 16777619u;
  }
  return h;
}
}  // namespace

std::string HostVethName(const std::string& container_id, const std::string& ifname) {
  // FNV-1a: stable across builds and machines.
  return absl::StrFormat("stk%08x", Fnv1a(container_id + "/" + ifname));
}

std::array<uint8_t, 6> BridgeMac(const std::string& bridge) {
  const uint32_t h = Fnv1a("bridge/" + bridge);
  // 0x02: locally administered, unicast; then "sk" and the hash.
  return {0x02,
          0x73,
          static_cast<uint8_t>(h >> 24),
          static_cast<uint8_t>(h >> 16),
          static_cast<uint8_t>(h >> 8),
          static_cast<uint8_t>(h)};
}

absl::string_view NftFamilyName(NftFamily f) { return f == NftFamily::kIp6 ? "ip6" : "ip"; }

NftFamily FamilyOf(const std::string& address_or_subnet) {
  return address_or_subnet.find(':') != std::string::npos ? NftFamily::kIp6 : NftFamily::kIp;
}

std::vector<std::string> NftBaseCommands(NftFamily f) {
  const std::string fam(NftFamilyName(f));
  const std::string addr = f == NftFamily::kIp6 ? "ipv6_addr" : "ipv4_addr";
  const std::string t = absl::StrCat(fam, " stockade");
  std::vector<std::string> c = {
      absl::StrCat("add table ", t),
      absl::StrCat("add set ", t, " pod_subnets { type ", addr, "; flags interval; }"),
      absl::StrCat("add set ", t, " masq_subnets { type ", addr, "; flags interval; }"),
      absl::StrCat("add map ", t, " hostports { type inet_proto . inet_service : ", addr,
                   " . inet_service; }"),
      absl::StrCat("add map ", t, " hostip_ports { type ", addr,
                   " . inet_proto . inet_service : ", addr, " . inet_service; }"),
      absl::StrCat("add chain ", t, " prerouting { type nat hook prerouting priority dstnat; }"),
      absl::StrCat("add chain ", t, " output { type nat hook output priority -100; }"),
      absl::StrCat("add chain ", t, " postrouting { type nat hook postrouting priority srcnat; }"),
  };
  for (const char* chain : {"prerouting", "output"}) {
    // A hostPort on one address first; a miss in that map falls through to the wildcard one,
    // which serves any of the node's addresses, from outside or from the node itself.
    c.push_back(absl::StrCat("add rule ", t, " ", chain, " dnat ", fam, " addr . port to ", fam,
                             " daddr . meta l4proto . th dport map @hostip_ports"));
    c.push_back(absl::StrCat("add rule ", t, " ", chain, " fib daddr type local dnat ", fam,
                             " addr . port to meta l4proto . th dport map @hostports"));
  }
  if (f == NftFamily::kIp) {
    // hostPort traffic from the node's loopback (reaches the bridge through route_localnet).
    c.push_back(absl::StrCat("add rule ", t,
                             " postrouting ip saddr 127.0.0.0/8 ip daddr @pod_subnets masquerade"));
  }
  // A pod reaching a pod (itself included) through a hostPort: the reply must come back here.
  c.push_back(absl::StrCat("add rule ", t, " postrouting ct status dnat ", fam,
                           " saddr @pod_subnets ", fam, " daddr @pod_subnets masquerade"));
  // Outbound: masqueraded networks' pods leaving the pod networks.
  c.push_back(absl::StrCat("add rule ", t, " postrouting ", fam, " saddr @masq_subnets ", fam,
                           " daddr != @pod_subnets masquerade"));
  return c;
}

namespace {

// What stands between "elements = {" and its "}" in the block that `header` ("set x {",
// "map y {") opens at the start of a line of `listing`; empty when there is none.
absl::string_view ElementsText(absl::string_view listing, absl::string_view header) {
  size_t at = 0;
  while ((at = listing.find(header, at)) != absl::string_view::npos) {
    const size_t line_start = listing.rfind('\n', at) + 1;  // npos + 1 == 0
    if (absl::StripLeadingAsciiWhitespace(listing.substr(line_start, at - line_start)).empty()) {
      break;
    }
    at += header.size();
  }
  if (at == absl::string_view::npos) return {};
  const absl::string_view block = listing.substr(at + header.size());
  // The block ends at the first "}" that closes no "elements = {".
  const size_t block_end = [&] {
    int depth = 0;
    for (size_t i = 0; i < block.size(); ++i) {
      if (block[i] == '{') ++depth;
      if (block[i] == '}' && depth-- == 0) return i;
    }
    return block.size();
  }();
  const absl::string_view body = block.substr(0, block_end);
  constexpr absl::string_view kElements = "elements = {";
  const size_t elements = body.find(kElements);
  if (elements == absl::string_view::npos) return {};
  const absl::string_view rest = body.substr(elements + kElements.size());
  return rest.substr(0, rest.find('}'));
}

}  // namespace

std::vector<std::string> NftSetElements(absl::string_view listing, absl::string_view set) {
  std::vector<std::string> out;
  for (absl::string_view e : absl::StrSplit(ElementsText(listing, absl::StrCat("set ", set, " {")),
                                            absl::ByAnyChar(", \t\n"), absl::SkipEmpty())) {
    out.emplace_back(e);
  }
  return out;
}

std::vector<std::string> NftMapElements(absl::string_view listing, absl::string_view map) {
  // Map elements hold spaces ("tcp . 80 : 10.88.0.5 . 80"): split on commas only.
  std::vector<std::string> out;
  for (absl::string_view e : absl::StrSplit(ElementsText(listing, absl::StrCat("map ", map, " {")),
                                            ',', absl::SkipWhitespace())) {
    out.emplace_back(absl::StripAsciiWhitespace(e));
  }
  return out;
}

std::vector<std::string> NftAddSubnet(const std::string& subnet, bool masquerade,
                                      absl::string_view listing) {
  const std::string t = absl::StrCat(NftFamilyName(FamilyOf(subnet)), " stockade");
  auto missing = [&](absl::string_view set) {
    const std::vector<std::string> elements = NftSetElements(listing, set);
    return std::find(elements.begin(), elements.end(), subnet) == elements.end();
  };
  std::vector<std::string> c;
  if (missing("pod_subnets")) {
    c.push_back(absl::StrCat("add element ", t, " pod_subnets { ", subnet, " }"));
  }
  if (masquerade && missing("masq_subnets")) {
    c.push_back(absl::StrCat("add element ", t, " masq_subnets { ", subnet, " }"));
  }
  return c;
}

std::vector<std::string> NftDeleteSubnet(const std::string& subnet) {
  const std::string t = absl::StrCat(NftFamilyName(FamilyOf(subnet)), " stockade");
  return {absl::StrCat("delete element ", t, " pod_subnets { ", subnet, " }"),
          absl::StrCat("delete element ", t, " masq_subnets { ", subnet, " }")};
}

namespace {

// Which of the two maps a mapping goes in for a pod address of `family`, and its key; nullopt
// when the mapping is for the other family.
struct HostPortKey {
  std::string map, key;
};
std::optional<HostPortKey> KeyOf(const HostPort& p, NftFamily family) {
  const std::string port_key = absl::StrCat(p.protocol, " . ", p.host_port);
  if (p.host_ip.empty()) return HostPortKey{"hostports", port_key};
  const NftFamily host_family = FamilyOf(p.host_ip);
  if (host_family != family) return std::nullopt;
  if (p.host_ip == "0.0.0.0" || p.host_ip == "::") return HostPortKey{"hostports", port_key};
  return HostPortKey{"hostip_ports", absl::StrCat(p.host_ip, " . ", port_key)};
}

}  // namespace

std::vector<std::string> NftAddHostPorts(const std::vector<HostPort>& ports,
                                         const std::string& pod_ip, absl::string_view listing) {
  const NftFamily family = FamilyOf(pod_ip);
  std::vector<std::string> out;
  for (const HostPort& p : ports) {
    std::optional<HostPortKey> k = KeyOf(p, family);
    if (!k) continue;
    const std::string value = absl::StrCat(pod_ip, " . ", p.container_port);
    const std::string set = absl::StrCat(NftFamilyName(family), " stockade ", k->map);
    for (const std::string& element : NftMapElements(listing, k->map)) {
      const std::string prefix = absl::StrCat(k->key, " : ");
      if (absl::StartsWith(element, prefix) && element != prefix + value) {
        out.push_back(absl::StrCat("delete element ", set, " { ", k->key, " }"));
      }
    }
    out.push_back(absl::StrCat("add element ", set, " { ", k->key, " : ", value, " }"));
  }
  return out;
}

std::vector<std::string> NftDeleteHostPorts(const std::vector<HostPort>& ports,
                                            const std::string& pod_ip, const std::string& listing) {
  const NftFamily family = FamilyOf(pod_ip);
  std::vector<std::string> out;
  for (const HostPort& p : ports) {
    std::optional<HostPortKey> k = KeyOf(p, family);
    if (!k) continue;
    if (!absl::StrContains(listing, absl::StrCat(k->key, " : ", pod_ip, " . ", p.container_port))) {
      continue;
    }
    out.push_back(absl::StrCat("delete element ", NftFamilyName(family), " stockade ", k->map,
                               " { ", k->key, " }"));
  }
  return out;
}

std::string ResultJson(const std::string& cni_version,
                       const std::vector<AddedInterface>& interfaces,
                       const std::vector<AddedAddress>& addresses) {
  Json result = {{"cniVersion", cni_version},
                 {"interfaces", Json::array()},
                 {"ips", Json::array()},
                 {"routes", Json::array()},
                 {"dns", Json::object()}};
  for (const AddedInterface& i : interfaces) {
    Json j = {{"name", i.name}, {"mac", i.mac}};
    if (!i.sandbox.empty()) j["sandbox"] = i.sandbox;
    result["interfaces"].push_back(j);
  }
  for (const AddedAddress& a : addresses) {
    Json j = {{"address", a.address}, {"gateway", a.gateway}, {"interface", a.interface}};
    if (cni_version == "0.4.0" || cni_version == "0.3.1") {
      j["version"] = a.address.find(':') != std::string::npos ? "6" : "4";
    }
    result["ips"].push_back(j);
    const bool v6 = a.address.find(':') != std::string::npos;
    result["routes"].push_back({{"dst", v6 ? "::/0" : "0.0.0.0/0"}, {"gw", a.gateway}});
  }
  return result.dump();
}

std::string ErrorJson(const std::string& cni_version, int code, const std::string& message,
                      const std::string& details) {
  Json e = {{"cniVersion", cni_version}, {"code", code}, {"msg", message}};
  if (!details.empty()) e["details"] = details;
  return e.dump();
}

}  // namespace stockade::bridge
