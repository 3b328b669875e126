// stockade-bridge's FreeBSD back end as plans, portable and unit-tested here: the commands that
// put a pod's VNET jail on an if_bridge through an epair (the host end renamed to a unique,
// persisted name; the other end moved into the jail and renamed eth0), and the pf anchor
// rules for its NAT and hostPorts. The FreeBSD build applies them (ifconfig(8), jexec(8),
// route(8), pfctl(8)) with the syscall layer of the FreeBSD issue.
#pragma once

#include <string>
#include <vector>

#include "cni/bridge/bridge_plan.h"

namespace stockade::bridge {

using Command = std::vector<std::string>;  // argv

struct FreeBsdAttach {
  std::string jail;          // the pod's jail name (CNI_NETNS on FreeBSD)
  std::string container_id;  // CNI_CONTAINERID
  std::string ifname = "eth0";
  std::string epair;    // what `ifconfig epair create` printed, e.g. "epair7a"
  std::string address;  // the pod's IPv4 address, from IPAM
};

// The host end's persisted name: "stk" + the same hash as on Linux, then "a"; its peer "b".
std::string EpairHostName(const std::string& container_id, const std::string& ifname);

// Creating the bridge (when missing) with the gateway address, in order.
std::vector<Command> PlanFreeBsdBridge(const BridgeConfig& config);
// After `ifconfig epair create` gave `attach.epair`: rename both ends, attach the host end to
// the bridge, move the other into the jail, name it, address it, route through the gateway.
std::vector<Command> PlanFreeBsdAttach(const BridgeConfig& config, const FreeBsdAttach& attach);
// DEL: destroying the host end destroys the pair.
std::vector<Command> PlanFreeBsdDetach(const std::string& container_id, const std::string& ifname);

// The anchor of one pod, "stockade/<first 12 of the container id>".
std::string PfAnchorName(const std::string& container_id);
// Its rules (pfctl -a ANCHOR -f -): outbound NAT to the node's address on `egress_if`, one rdr
// per hostPort; an empty anchor when the pod has neither.
std::string PfAnchorRules(const BridgeConfig& config, const std::string& pod_address,
                          const std::string& egress_if);
// What an operator adds to /etc/pf.conf once, so that the per-pod anchors are evaluated.
std::string PfConfLines();

}  // namespace stockade::bridge
