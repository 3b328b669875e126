// stockade-bridge: a CNI 1.0.0 plugin. ADD puts the pod on a Linux bridge through a veth pair
// (eth0 inside), gives it addresses from its own IPAM, a default route, NAT for outbound
// traffic and hostPorts with nftables (table ip stockade); DEL undoes all of it (and succeeds
// for what is unknown); CHECK verifies it; VERSION says what it speaks.
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cni/bridge/bridge_plan.h"
#include "cni/bridge/ipam.h"
#include "cni/bridge/netlink.h"

namespace stockade::bridge {
namespace {

// CNI error codes (spec: 4 invalid environment, 7 invalid network config, 11 try again later);
// 100 and up are ours.
constexpr int kBadEnvironment = 4;
constexpr int kBadConfig = 7;
constexpr int kFailed = 100;
constexpr int kExhausted = 101;

struct Call {
  std::string command, container_id, netns, ifname;
};

class Failure {
 public:
  Failure(int code, absl::Status status) : code(code), status(std::move(status)) {}
  int code;
  absl::Status status;
};

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

absl::Status WriteSysctl(const std::string& path, const std::string& value) {
  std::ofstream out(path);
  out << value;
  out.close();
  if (!out) return absl::FailedPreconditionError("cannot write " + path);
  return absl::OkStatus();
}

// One libnftables context for the whole call, made when first needed: each context is a
// netlink socket, and closing one after a commit waits for nf_tables' deferred clean-up (an RCU
// grace period, ~8 ms here), so a call pays that once at most.
class Nftables {
 public:
  Nftables() = default;
  Nftables(const Nftables&) = delete;
  Nftables& operator=(const Nftables&) = delete;
  ~Nftables() {
    if (ctx_ != nullptr) nft_ctx_free(ctx_);
  }

  // Runs nft commands; `output` receives what a list command prints.
  absl::Status Run(const std::string& commands, std::string* output = nullptr) {
    if (ctx_ == nullptr) {
      ctx_ = nft_ctx_new(NFT_CTX_DEFAULT);
      if (ctx_ == nullptr) return absl::InternalError("nft_ctx_new failed");
      nft_ctx_buffer_output(ctx_);
      nft_ctx_buffer_error(ctx_);
    }
    const int rc = nft_run_cmd_from_buffer(ctx_, commands.c_str());
    // Reading a buffer also rewinds it for the next command.
    const std::string errors = nft_ctx_get_error_buffer(ctx_);
    const std::string printed = nft_ctx_get_output_buffer(ctx_);
    if (output != nullptr) *output = printed;
    if (rc == 0) return absl::OkStatus();
    return absl::FailedPreconditionError(
        absl::StrCat("nftables refused \"", commands, "\": ", errors));
  }

 private:
  nft_ctx* ctx_ = nullptr;
};

std::string NftScript(const std::vector<std::string>& commands) {
  std::string all;
  for (const std::string& c : commands) absl::StrAppend(&all, c, "\n");
  return all;
}

// The family's shared table (sets, maps, chains, rules), made once, and this network's subnets
// added to its sets. Under a lock of its own: networks with different IPAM locks share it.
absl::Status EnsureNat(Nftables& nft, const BridgeConfig& config) {
  absl::StatusOr<AddressAllocator> table_lock = AddressAllocator::Lock(config.data_dir, ".nft");
  if (!table_lock.ok()) return table_lock.status();
  for (const AddressRange& range : config.ranges) {
    const NftFamily family = FamilyOf(range.subnet);
    const std::string table = absl::StrCat(NftFamilyName(family), " stockade");
    std::string listing;
    const bool exists = nft.Run("list table " + table, &listing).ok();
    if (!exists || !absl::StrContains(listing, kNftLayoutMarker)) {
      // None yet, or an older plugin's layout (rules per subnet): replaced by this one.
      if (exists) nft.Run("delete table " + table).IgnoreError();
      if (absl::Status s = nft.Run(NftScript(NftBaseCommands(family))); !s.ok()) return s;
      listing.clear();
    }
    const std::vector<std::string> additions = NftAddSubnet(range.subnet, config.ip_masq, listing);
    if (additions.empty()) continue;
    if (absl::Status s = nft.Run(NftScript(additions)); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// The hostPort elements of `address`: added (taking over keys that another address still holds,
// whose DEL never came), or removed where they still point at it. Listing and change under the
// table's lock, so that a DEL between them cannot make the change refer to a gone element.
absl::Status ChangeHostPorts(Nftables& nft, const BridgeConfig& config, const std::string& address,
                             bool add) {
  absl::StatusOr<AddressAllocator> table_lock = AddressAllocator::Lock(config.data_dir, ".nft");
  if (!table_lock.ok()) return table_lock.status();
  std::string listing;
  nft.Run(absl::StrCat("list table ", NftFamilyName(FamilyOf(address)), " stockade"), &listing)
      .IgnoreError();
  if (add) {
    const std::vector<std::string> elements =
        NftAddHostPorts(config.port_mappings, address, listing);
    return elements.empty() ? absl::OkStatus() : nft.Run(NftScript(elements));
  }
  for (const std::string& c : NftDeleteHostPorts(config.port_mappings, address, listing)) {
    nft.Run(c).IgnoreError();
  }
  return absl::OkStatus();
}

// The subnets of a network whose last address was released leave the sets.
void ReleaseNat(Nftables& nft, const BridgeConfig& config, const AddressAllocator& ipam) {
  absl::StatusOr<AddressAllocator> table_lock = AddressAllocator::Lock(config.data_dir, ".nft");
  if (!table_lock.ok()) return;
  const std::vector<std::string> allocated = ipam.Allocated();
  for (const AddressRange& range : config.ranges) {
    const bool in_use = std::any_of(allocated.begin(), allocated.end(), [&](const std::string& a) {
      return FamilyOf(a) == FamilyOf(range.subnet);
    });
    if (in_use) continue;
    for (const std::string& c : NftDeleteSubnet(range.subnet)) nft.Run(c).IgnoreError();
  }
}

// Runs `fn` with the calling thread inside the network namespace at `netns`.
template <typename Fn>
absl::Status InNetns(int netns_fd, Fn&& fn) {
  const int own = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (own < 0 || ::setns(netns_fd, CLONE_NEWNET) != 0) {
    if (own >= 0) ::close(own);
    return absl::FailedPreconditionError("cannot enter the pod's network namespace");
  }
  absl::Status s = fn();
  ::setns(own, CLONE_NEWNET);
  ::close(own);
  return s;
}

absl::StatusOr<std::string> Add(const Call& call, const BridgeConfig& config,
                                const std::string& netns_path) {
  const std::string host_veth = HostVethName(call.container_id, call.ifname);
  const int netns_fd = ::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (netns_fd < 0) {
    throw Failure(kBadEnvironment,
                  absl::FailedPreconditionError("cannot open CNI_NETNS " + netns_path));
  }
  // The network's lock is held while addresses are allocated and their subnets are put in
  // nftables' sets (a DEL takes them out under it when a subnet's last address goes), not
  // while the interfaces are made: concurrent ADDs on one network overlap there.
  std::optional<AddressAllocator> ipam;
  auto lock = [&]() -> absl::Status {
    absl::StatusOr<AddressAllocator> locked = AddressAllocator::Lock(config.data_dir, config.name);
    if (!locked.ok()) return locked.status();
    ipam.emplace(std::move(*locked));
    return absl::OkStatus();
  };
  if (absl::Status s = lock(); !s.ok()) {
    ::close(netns_fd);
    throw Failure(kFailed, s);
  }
  Nftables nft;
  auto undo = [&] {
    if (absl::StatusOr<std::unique_ptr<Netlink>> nl = Netlink::Open(); nl.ok()) {
      (*nl)->DeleteLink(host_veth).IgnoreError();
    }
    if (ipam || lock().ok()) {
      ipam->Release(call.container_id, call.ifname).IgnoreError();
      // EnsureNat may have put the subnet in the sets for this pod alone.
      ReleaseNat(nft, config, *ipam);
    }
  };
  std::vector<AddedAddress> addresses;
  std::vector<AddedInterface> interfaces;
  absl::Status s = [&]() -> absl::Status {
    std::vector<std::pair<AddressRange, std::string>> allocated;
    for (const AddressRange& range : config.ranges) {
      absl::StatusOr<std::string> address = ipam->Allocate(range, call.container_id, call.ifname);
      if (!address.ok()) return address.status();
      allocated.push_back({range, *address});
    }
    if (absl::Status e = EnsureNat(nft, config); !e.ok()) return e;
    ipam.reset();
    absl::StatusOr<std::unique_ptr<Netlink>> host = Netlink::Open();
    if (!host.ok()) return host.status();
    Netlink& nl = **host;
    if (absl::Status e = nl.EnsureBridge(config.bridge, config.mtu); !e.ok()) return e;
    for (const AddressRange& range : config.ranges) {
      if (absl::Status e =
              nl.AddAddress(config.bridge, {range.gateway, PrefixLength(range.subnet)});
          !e.ok()) {
        return e;
      }
    }
    WriteSysctl("/proc/sys/net/ipv4/ip_forward", "1").IgnoreError();
    if (std::any_of(config.ranges.begin(), config.ranges.end(),
                    [](const AddressRange& r) { return r.v6(); })) {
      // IPv6 hostPorts are forwarded to the pod, as kubelet's dual-stack nodes require.
      WriteSysctl("/proc/sys/net/ipv6/conf/all/forwarding", "1").IgnoreError();
    }
    WriteSysctl(absl::StrCat("/proc/sys/net/ipv4/conf/", config.bridge, "/route_localnet"), "1")
        .IgnoreError();
    if (!nl.LinkIndex(host_veth).ok()) {
      if (absl::Status e = nl.CreateVethPair(host_veth, call.ifname, netns_fd, config.mtu);
          !e.ok()) {
        return e;
      }
    }
    if (absl::Status e = nl.SetMaster(host_veth, config.bridge); !e.ok()) return e;
    if (absl::Status e = nl.SetUp(host_veth); !e.ok()) return e;
    if (config.hairpin) {
      if (absl::Status e = nl.SetHairpin(host_veth, true); !e.ok()) return e;
    }
    std::string pod_mac;
    absl::Status inside = InNetns(netns_fd, [&]() -> absl::Status {
      absl::StatusOr<std::unique_ptr<Netlink>> pod = Netlink::Open();
      if (!pod.ok()) return pod.status();
      // The kernel announces the addresses with a gratuitous ARP when eth0 comes up, so that
      // neighbours still holding the previous holder's MAC for one (the bridge, other pods)
      // learn the new one at once. A packet socket of our own would cost ~10 ms at its close
      // (packet_release waits for an RCU grace period).
      WriteSysctl(absl::StrCat("/proc/sys/net/ipv4/conf/", call.ifname, "/arp_notify"), "1")
          .IgnoreError();
      for (const auto& [range, address] : allocated) {
        if (range.v6()) {
          WriteSysctl(absl::StrCat("/proc/sys/net/ipv6/conf/", call.ifname, "/accept_dad"), "0")
              .IgnoreError();
        }
        if (absl::Status e = (*pod)->AddAddress(call.ifname, {address, PrefixLength(range.subnet)});
            !e.ok()) {
          return e;
        }
      }
      if (absl::Status e = (*pod)->SetUp(call.ifname); !e.ok()) return e;
      if (absl::Status e = (*pod)->SetUp("lo"); !e.ok()) return e;
      for (const auto& [range, address] : allocated) {
        if (absl::Status e = (*pod)->AddDefaultRoute(call.ifname, range.gateway); !e.ok()) {
          return e;
        }
      }
      pod_mac = (*pod)->LinkMac(call.ifname).value_or("");
      return absl::OkStatus();
    });
    if (!inside.ok()) return inside;
    if (!config.port_mappings.empty()) {
      for (const auto& [range, address] : allocated) {
        if (absl::Status e = ChangeHostPorts(nft, config, address, true); !e.ok()) return e;
      }
    }
    interfaces = {{config.bridge, nl.LinkMac(config.bridge).value_or(""), ""},
                  {host_veth, nl.LinkMac(host_veth).value_or(""), ""},
                  {call.ifname, pod_mac, netns_path}};
    for (const auto& [range, address] : allocated) {
      addresses.push_back(
          {absl::StrCat(address, "/", PrefixLength(range.subnet)), range.gateway, 2});
    }
    return absl::OkStatus();
  }();
  ::close(netns_fd);
  if (!s.ok()) {
    undo();
    throw Failure(absl::IsResourceExhausted(s) ? kExhausted : kFailed, s);
  }
  return ResultJson(config.cni_version, interfaces, addresses);
}

void Del(const Call& call, const BridgeConfig& config) {
  absl::StatusOr<AddressAllocator> ipam = AddressAllocator::Lock(config.data_dir, config.name);
  if (!ipam.ok()) throw Failure(kFailed, ipam.status());
  const std::vector<std::string> held = ipam->Held(call.container_id, call.ifname);
  Nftables nft;
  if (!config.port_mappings.empty()) {
    // Only this pod's keys, and only if they still point at its address.
    for (const std::string& address : held) {
      ChangeHostPorts(nft, config, address, false).IgnoreError();
    }
  }
  absl::StatusOr<std::unique_ptr<Netlink>> nl = Netlink::Open();
  if (!nl.ok()) throw Failure(kFailed, nl.status());
  // Deleting the host end takes the pod end with it; a gone namespace took both already.
  if (absl::Status s = (*nl)->DeleteLink(HostVethName(call.container_id, call.ifname)); !s.ok()) {
    throw Failure(kFailed, s);
  }
  if (absl::Status s = ipam->Release(call.container_id, call.ifname); !s.ok()) {
    throw Failure(kFailed, s);
  }
  if (!held.empty()) ReleaseNat(nft, config, *ipam);
}

void Check(const Call& call, const BridgeConfig& config) {
  absl::StatusOr<AddressAllocator> ipam = AddressAllocator::Lock(config.data_dir, config.name);
  if (!ipam.ok()) throw Failure(kFailed, ipam.status());
  if (ipam->Held(call.container_id, call.ifname).size() != config.ranges.size()) {
    throw Failure(kFailed, absl::FailedPreconditionError("the pod holds no address here"));
  }
  absl::StatusOr<std::unique_ptr<Netlink>> nl = Netlink::Open();
  if (!nl.ok()) throw Failure(kFailed, nl.status());
  const std::string veth = HostVethName(call.container_id, call.ifname);
  if (!(*nl)->LinkIndex(veth).ok() || !(*nl)->LinkIndex(config.bridge).ok()) {
    throw Failure(kFailed, absl::FailedPreconditionError(absl::StrCat(
                               "interface ", veth, " or bridge ", config.bridge, " is missing")));
  }
}

int Run() {
  Call call{Env("CNI_COMMAND"), Env("CNI_CONTAINERID"), Env("CNI_NETNS"), Env("CNI_IFNAME")};
  std::stringstream input;
  input << std::cin.rdbuf();
  if (call.command == "VERSION") {
    std::cout << R"({"cniVersion":"1.0.0","supportedVersions":["0.4.0","1.0.0"]})"
              << "\n";
    return 0;
  }
  std::string version = "1.0.0";
  try {
    absl::StatusOr<BridgeConfig> config = ParseBridgeConfig(input.str());
    if (!config.ok()) throw Failure(kBadConfig, config.status());
    version = config->cni_version;
    if (call.container_id.empty() || call.ifname.empty()) {
      throw Failure(kBadEnvironment,
                    absl::InvalidArgumentError("CNI_CONTAINERID and CNI_IFNAME are required"));
    }
    if (call.command == "ADD") {
      if (call.netns.empty()) {
        throw Failure(kBadEnvironment, absl::InvalidArgumentError("CNI_NETNS is required"));
      }
      std::cout << *Add(call, *config, call.netns) << "\n";
    } else if (call.command == "DEL") {
      Del(call, *config);
    } else if (call.command == "CHECK") {
      Check(call, *config);
    } else {
      throw Failure(kBadEnvironment,
                    absl::InvalidArgumentError("unknown CNI_COMMAND \"" + call.command + "\""));
    }
    return 0;
  } catch (const Failure& f) {
    std::cout << ErrorJson(version, f.code, std::string(f.status.message())) << "\n";
    return 1;
  }
}

}  // namespace
}  // namespace stockade::bridge

int main() { return stockade::bridge::Run(); }
