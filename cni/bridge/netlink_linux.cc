// <net/if.h> first: the linux/ headers below define the same flags only when it has not.
#include <net/if.h>
// clang-format off
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_arp.h>
#include <linux/if_bridge.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sys/socket.h>
#include <unistd.h>
// clang-format on

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cni/bridge/bridge_plan.h"
#include "cni/bridge/netlink.h"

namespace stockade::bridge {
namespace {

absl::Status NetlinkError(int err, const std::string& what) {
  return absl::Status(err == ENOENT || err == ENODEV ? absl::StatusCode::kNotFound
                                                     : absl::StatusCode::kFailedPrecondition,
                      absl::StrCat(what, ": ", std::strerror(err)));
}

nlmsghdr* NewMessage(char* buf, uint16_t type, uint16_t flags) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  return nlh;
}

ifinfomsg* LinkHeader(nlmsghdr* nlh, int index = 0, int family = AF_UNSPEC) {
  auto* ifm = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifm->ifi_family = static_cast<unsigned char>(family);
  ifm->ifi_index = index;
  return ifm;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Netlink>> Netlink::Open() {
  mnl_socket* s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (s == nullptr) return NetlinkError(errno, "open a netlink socket");
  if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
    const int err = errno;
    mnl_socket_close(s);
    return NetlinkError(err, "bind the netlink socket");
  }
  return std::unique_ptr<Netlink>(new Netlink(s));
}

Netlink::~Netlink() { mnl_socket_close(socket_); }

absl::Status Netlink::Transact(char* buf, const std::string& what, bool exist_ok) {
  auto* nlh = reinterpret_cast<nlmsghdr*>(buf);
  nlh->nlmsg_seq = seq_++;
  if (mnl_socket_sendto(socket_, nlh, nlh->nlmsg_len) < 0) return NetlinkError(errno, what);
  char reply[MNL_SOCKET_BUFFER_SIZE];
  const ssize_t n = mnl_socket_recvfrom(socket_, reply, sizeof(reply));
  if (n < 0) return NetlinkError(errno, what);
  if (mnl_cb_run(reply, static_cast<size_t>(n), nlh->nlmsg_seq, mnl_socket_get_portid(socket_),
                 nullptr, nullptr) < 0) {
    const int err = errno;
    if (exist_ok && err == EEXIST) return absl::OkStatus();
    return NetlinkError(err, what);
  }
  return absl::OkStatus();
}

absl::StatusOr<int> Netlink::LinkIndex(const std::string& name) {
  // if_nametoindex asks the kernel of the calling thread's namespace, as this socket does.
  const unsigned index = ::if_nametoindex(name.c_str());
  if (index == 0) return absl::NotFoundError(absl::StrCat("no interface ", name));
  return static_cast<int>(index);
}

absl::StatusOr<std::string> Netlink::LinkMac(const std::string& name) {
  absl::StatusOr<int> index = LinkIndex(name);
  if (!index.ok()) return index.status();
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_GETLINK;
  nlh->nlmsg_flags = NLM_F_REQUEST;
  nlh->nlmsg_seq = seq_++;
  LinkHeader(nlh, *index);
  if (mnl_socket_sendto(socket_, nlh, nlh->nlmsg_len) < 0) {
    return NetlinkError(errno, "get link " + name);
  }
  char reply[MNL_SOCKET_BUFFER_SIZE];
  const ssize_t n = mnl_socket_recvfrom(socket_, reply, sizeof(reply));
  if (n < 0) return NetlinkError(errno, "get link " + name);
  std::string mac;
  auto on_message = [](const nlmsghdr* msg, void* data) -> int {
    auto* out = static_cast<std::string*>(data);
    mnl_attr_parse(
        msg, sizeof(ifinfomsg),
        [](const nlattr* attr, void* d) -> int {
          if (mnl_attr_get_type(attr) == IFLA_ADDRESS && mnl_attr_get_payload_len(attr) == 6) {
            const auto* b = static_cast<const uint8_t*>(mnl_attr_get_payload(attr));
            *static_cast<std::string*>(d) = absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", b[0],
                                                            b[1], b[2], b[3], b[4], b[5]);
          }
          return MNL_CB_OK;
        },
        out);
    return MNL_CB_OK;
  };
  mnl_cb_run(reply, static_cast<size_t>(n), nlh->nlmsg_seq, mnl_socket_get_portid(socket_),
             on_message, &mac);
  return mac;
}

absl::Status Netlink::EnsureBridge(const std::string& name, int mtu) {
  if (!LinkIndex(name).ok()) {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh = NewMessage(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    LinkHeader(nlh);
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
    if (mtu > 0) mnl_attr_put_u32(nlh, IFLA_MTU, static_cast<uint32_t>(mtu));
    const std::array<uint8_t, 6> mac = BridgeMac(name);
    mnl_attr_put(nlh, IFLA_ADDRESS, mac.size(), mac.data());
    nlattr* info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
    mnl_attr_nest_end(nlh, info);
    // Another plugin call may have made it in between: that is fine.
    if (absl::Status s = Transact(buf, "create bridge " + name, /*exist_ok=*/true); !s.ok()) {
      return s;
    }
  }
  return SetUp(name);
}

absl::Status Netlink::CreateVethPair(const std::string& host_name, const std::string& pod_name,
                                     int netns_fd, int mtu) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = NewMessage(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  LinkHeader(nlh);
  mnl_attr_put_strz(nlh, IFLA_IFNAME, host_name.c_str());
  if (mtu > 0) mnl_attr_put_u32(nlh, IFLA_MTU, static_cast<uint32_t>(mtu));
  nlattr* info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
  nlattr* data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
  nlattr* peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
  // The peer's own ifinfomsg, then its attributes.
  auto* peer_ifm = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  std::memset(peer_ifm, 0, sizeof(*peer_ifm));
  mnl_attr_put_strz(nlh, IFLA_IFNAME, pod_name.c_str());
  if (mtu > 0) mnl_attr_put_u32(nlh, IFLA_MTU, static_cast<uint32_t>(mtu));
  mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, static_cast<uint32_t>(netns_fd));
  mnl_attr_nest_end(nlh, peer);
  mnl_attr_nest_end(nlh, data);
  mnl_attr_nest_end(nlh, info);
  return Transact(buf, absl::StrCat("create veth ", host_name, " / ", pod_name));
}

absl::Status Netlink::SetMaster(const std::string& name, const std::string& master) {
  absl::StatusOr<int> index = LinkIndex(name);
  if (!index.ok()) return index.status();
  absl::StatusOr<int> master_index = LinkIndex(master);
  if (!master_index.ok()) return master_index.status();
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = NewMessage(buf, RTM_NEWLINK, 0);
  LinkHeader(nlh, *index);
  mnl_attr_put_u32(nlh, IFLA_MASTER, static_cast<uint32_t>(*master_index));
  return Transact(buf, absl::StrCat("attach ", name, " to ", master));
}

absl::Status Netlink::SetUp(const std::string& name) {
  absl::StatusOr<int> index = LinkIndex(name);
  if (!index.ok()) return index.status();
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = NewMessage(buf, RTM_NEWLINK, 0);
  ifinfomsg* ifm = LinkHeader(nlh, *index);
  ifm->ifi_flags = IFF_UP;
  ifm->ifi_change = IFF_UP;
  return Transact(buf, "set " + name + " up");
}

absl::Status Netlink::SetHairpin(const std::string& port_name, bool on) {
  absl::StatusOr<int> index = LinkIndex(port_name);
  if (!index.ok()) return index.status();
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = NewMessage(buf, RTM_SETLINK, 0);
  LinkHeader(nlh, *index, AF_BRIDGE);
  nlattr* protinfo = mnl_attr_nest_start(nlh, IFLA_PROTINFO | NLA_F_NESTED);
  mnl_attr_put_u8(nlh, IFLA_BRPORT_MODE, on ? 1 : 0);
  mnl_attr_nest_end(nlh, protinfo);
  return Transact(buf, "set hairpin mode on " + port_name);
}

absl::Status Netlink::AddAddress(const std::string& name, const IpPrefix& prefix) {
  absl::StatusOr<int> index = LinkIndex(name);
  if (!index.ok()) return index.status();
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = NewMessage(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = prefix.v6() ? AF_INET6 : AF_INET;
  ifa->ifa_prefixlen = static_cast<unsigned char>(prefix.prefix_length);
  ifa->ifa_index = static_cast<unsigned>(*index);
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  if (prefix.v6()) {
    in6_addr a;
    if (::inet_pton(AF_INET6, prefix.address.c_str(), &a) != 1) {
      return absl::InvalidArgumentError("bad address " + prefix.address);
    }
    mnl_attr_put(nlh, IFA_LOCAL, sizeof(a), &a);
    mnl_attr_put(nlh, IFA_ADDRESS, sizeof(a), &a);
    // No duplicate address detection: the address is ours by allocation.
    mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
  } else {
    in_addr a;
    if (::inet_pton(AF_INET, prefix.address.c_str(), &a) != 1) {
      return absl::InvalidArgumentError("bad address " + prefix.address);
    }
    mnl_attr_put(nlh, IFA_LOCAL, sizeof(a), &a);
    mnl_attr_put(nlh, IFA_ADDRESS, sizeof(a), &a);
  }
  return Transact(buf,
                  absl::StrCat("add ", prefix.address, "/", prefix.prefix_length, " to ", name),
                  /*exist_ok=*/true);
}

absl::Status Netlink::AddDefaultRoute(const std::string& name, const std::string& gateway) {
  absl::StatusOr<int> index = LinkIndex(name);
  if (!index.ok()) return index.status();
  const bool v6 = gateway.find(':') != std::string::npos;
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = NewMessage(buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
  rtm->rtm_family = v6 ? AF_INET6 : AF_INET;
  rtm->rtm_dst_len = 0;
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_protocol = RTPROT_BOOT;
  rtm->rtm_scope = RT_SCOPE_UNIVERSE;
  rtm->rtm_type = RTN_UNICAST;
  if (v6) {
    in6_addr g;
    if (::inet_pton(AF_INET6, gateway.c_str(), &g) != 1) {
      return absl::InvalidArgumentError("bad gateway " + gateway);
    }
    mnl_attr_put(nlh, RTA_GATEWAY, sizeof(g), &g);
  } else {
    in_addr g;
    if (::inet_pton(AF_INET, gateway.c_str(), &g) != 1) {
      return absl::InvalidArgumentError("bad gateway " + gateway);
    }
    mnl_attr_put(nlh, RTA_GATEWAY, sizeof(g), &g);
  }
  mnl_attr_put_u32(nlh, RTA_OIF, static_cast<uint32_t>(*index));
  return Transact(buf, "add the default route via " + gateway, /*exist_ok=*/true);
}

absl::Status Netlink::DeleteLink(const std::string& name) {
  absl::StatusOr<int> index = LinkIndex(name);
  if (absl::IsNotFound(index.status())) return absl::OkStatus();
  if (!index.ok()) return index.status();
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = NewMessage(buf, RTM_DELLINK, 0);
  LinkHeader(nlh, *index);
  absl::Status s = Transact(buf, "delete " + name);
  return absl::IsNotFound(s) ? absl::OkStatus() : s;
}

}  // namespace stockade::bridge
