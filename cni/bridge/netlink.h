// The rtnetlink operations stockade-bridge needs (libmnl): a bridge, a veth pair whose pod end
// is made directly inside the pod's network namespace, addresses, routes, MTU, hairpin. Each
// Netlink talks to the network namespace it was opened in. Linux only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

struct mnl_socket;

namespace stockade::bridge {

struct IpPrefix {
  std::string address;  // "10.88.0.5" or "fd88::5"
  int prefix_length = 0;
  bool v6() const { return address.find(':') != std::string::npos; }
};

class Netlink {
 public:
  // A socket in the caller's current network namespace.
  static absl::StatusOr<std::unique_ptr<Netlink>> Open();
  ~Netlink();

  // The interface index, or NotFound.
  absl::StatusOr<int> LinkIndex(const std::string& name);
  absl::StatusOr<std::string> LinkMac(const std::string& name);
  // Creates the bridge if missing (mtu applies to a new one) and sets it up.
  absl::Status EnsureBridge(const std::string& name, int mtu);
  // Creates `host_name` here and its peer `pod_name` inside the namespace `netns_fd`.
  absl::Status CreateVethPair(const std::string& host_name, const std::string& pod_name,
                              int netns_fd, int mtu);
  absl::Status SetMaster(const std::string& name, const std::string& master);
  absl::Status SetUp(const std::string& name);
  absl::Status SetHairpin(const std::string& port_name, bool on);
  // Adds an address; one already there is no error.
  absl::Status AddAddress(const std::string& name, const IpPrefix& prefix);
  // A default route through `gateway` on `name`; one already there is no error.
  absl::Status AddDefaultRoute(const std::string& name, const std::string& gateway);
  // Deletes a link; a missing one is no error.
  absl::Status DeleteLink(const std::string& name);

 private:
  explicit Netlink(mnl_socket* socket) : socket_(socket) {}
  // Sends a request built in `buf` and waits for its acknowledgement.
  absl::Status Transact(char* buf, const std::string& what, bool exist_ok = false);
  mnl_socket* socket_;
  uint32_t seq_ = 1;
};

}  // namespace stockade::bridge
