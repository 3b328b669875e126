#include "cni/bridge/freebsd_plan.h"

#include "absl/strings/str_cat.h"

namespace stockade::bridge {

std::string EpairHostName(const std::string& container_id, const std::string& ifname) {
  return HostVethName(container_id, ifname) + "a";
}

std::vector<Command> PlanFreeBsdBridge(const BridgeConfig& config) {
  std::vector<Command> plan = {{"ifconfig", "bridge", "create", "name", config.bridge},
                               {"ifconfig", config.bridge, "mtu", absl::StrCat(config.mtu)}};
  for (const AddressRange& r : config.ranges) {
    plan.push_back({"ifconfig", config.bridge, r.v6() ? "inet6" : "inet",
                    absl::StrCat(r.gateway, "/", PrefixLength(r.subnet)), "alias"});
  }
  plan.push_back({"ifconfig", config.bridge, "up"});
  return plan;
}

std::vector<Command> PlanFreeBsdAttach(const BridgeConfig& config, const FreeBsdAttach& a) {
  const std::string host = EpairHostName(a.container_id, a.ifname);
  std::string peer = host;
  peer.back() = 'b';
  std::string epair_b = a.epair;
  if (!epair_b.empty()) epair_b.back() = 'b';
  std::vector<Command> plan = {
      {"ifconfig", a.epair, "name", host},
      {"ifconfig", epair_b, "name", peer},
      {"ifconfig", host, "mtu", absl::StrCat(config.mtu), "up"},
      {"ifconfig", config.bridge, "addm", host},
  };
  if (config.hairpin) plan.push_back({"ifconfig", config.bridge, "hairpin", host});
  plan.push_back({"ifconfig", peer, "vnet", a.jail});
  plan.push_back({"jexec", a.jail, "ifconfig", peer, "name", a.ifname});
  for (const AddressRange& r : config.ranges) {
    if (r.v6()) continue;  // IPv4 from IPAM here; IPv6 as on Linux comes with it
    plan.push_back({"jexec", a.jail, "ifconfig", a.ifname, "inet",
                    absl::StrCat(a.address, "/", PrefixLength(r.subnet)), "mtu",
                    absl::StrCat(config.mtu), "up"});
    plan.push_back({"jexec", a.jail, "route", "add", "-inet", "default", r.gateway});
  }
  plan.push_back({"jexec", a.jail, "ifconfig", "lo0", "inet", "127.0.0.1/8", "up"});
  return plan;
}

std::vector<Command> PlanFreeBsdDetach(const std::string& container_id, const std::string& ifname) {
  return {{"ifconfig", EpairHostName(container_id, ifname), "destroy"}};
}

std::string PfAnchorName(const std::string& container_id) {
  return absl::StrCat("stockade/", container_id.substr(0, 12));
}

std::string PfAnchorRules(const BridgeConfig& config, const std::string& pod_address,
                          const std::string& egress_if) {
  std::string rules;
  std::string subnet;
  for (const AddressRange& r : config.ranges) {
    if (!r.v6()) subnet = r.subnet;
  }
  if (config.ip_masq && !subnet.empty()) {
    absl::StrAppend(&rules, "nat on ", egress_if, " inet from ", pod_address, " to ! ", subnet,
                    " -> (", egress_if, ")\n");
  }
  for (const HostPort& p : config.port_mappings) {
    absl::StrAppend(&rules, "rdr pass on ! ", config.bridge, " inet proto ", p.protocol,
                    " to port ", p.host_port, " -> ", pod_address, " port ", p.container_port,
                    "\n");
  }
  return rules;
}

std::string PfConfLines() {
  return "nat-anchor \"stockade/*\"\n"
         "rdr-anchor \"stockade/*\"\n"
         "anchor \"stockade/*\"\n";
}

}  // namespace stockade::bridge
