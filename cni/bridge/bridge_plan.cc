#include "cni/bridge/bridge_plan.h"

#include <arpa/inet.h>

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
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
    HostPort p{m.value("hostPort", 0), m.value("containerPort", 0), m.value("protocol", "tcp")};
    if (p.host_port <= 0 || p.host_port > 65535 || p.container_port <= 0 ||
        p.container_port > 65535 || (p.protocol != "tcp" && p.protocol != "udp")) {
      return absl::InvalidArgumentError(
          "runtimeConfig.portMappings: ports 1-65535 and protocol tcp or udp");
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

std::string HostVethName(const std::string& container_id, const std::string& ifname) {
  // FNV-1a: stable across builds and machines.
  uint32_t h = 2166136261u;
  for (char ch : container_id + "/" + ifname) {
    h ^= static_cast<uint8_t>(ch);
    h *= 16777619u;
  }
  return absl::StrFormat("stk%08x", h);
}

std::vector<std::string> NftBaseCommands() {
  return {
      "add table ip stockade",
      "add map ip stockade hostports { type inet_proto . inet_service : ipv4_addr . "
      "inet_service; }",
      "add chain ip stockade prerouting { type nat hook prerouting priority dstnat; }",
      "add chain ip stockade output { type nat hook output priority -100; }",
      "add chain ip stockade postrouting { type nat hook postrouting priority srcnat; }",
      // hostPorts: to any of the node's addresses, from outside or from the node itself.
      "add rule ip stockade prerouting fib daddr type local dnat ip addr . port to "
      "meta l4proto . th dport map @hostports",
      "add rule ip stockade output fib daddr type local dnat ip addr . port to "
      "meta l4proto . th dport map @hostports",
  };
}

std::vector<std::string> NftSubnetRules(const std::string& subnet, bool masquerade) {
  std::vector<std::string> rules = {
      // hostPort traffic from the node's loopback, and a pod reaching itself through a hostPort.
      absl::StrCat("add rule ip stockade postrouting ip saddr 127.0.0.0/8 ip daddr ", subnet,
                   " masquerade"),
      absl::StrCat("add rule ip stockade postrouting ct status dnat ip saddr ", subnet,
                   " ip daddr ", subnet, " masquerade"),
  };
  if (masquerade) {
    rules.push_back(absl::StrCat("add rule ip stockade postrouting ip saddr ", subnet,
                                 " ip daddr != ", subnet, " masquerade"));
  }
  return rules;
}

std::string NftAddHostPorts(const std::vector<HostPort>& ports, const std::string& pod_ip) {
  std::vector<std::string> elements;
  for (const HostPort& p : ports) {
    elements.push_back(
        absl::StrCat(p.protocol, " . ", p.host_port, " : ", pod_ip, " . ", p.container_port));
  }
  return absl::StrCat("add element ip stockade hostports { ", absl::StrJoin(elements, ", "), " }");
}

std::string NftDeleteHostPorts(const std::vector<HostPort>& ports) {
  std::vector<std::string> keys;
  for (const HostPort& p : ports) keys.push_back(absl::StrCat(p.protocol, " . ", p.host_port));
  return absl::StrCat("delete element ip stockade hostports { ", absl::StrJoin(keys, ", "), " }");
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
