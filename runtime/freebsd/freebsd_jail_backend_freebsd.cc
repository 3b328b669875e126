#include <sys/param.h>

#include "runtime/freebsd/freebsd_jail_backend.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/jail.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cni/bridge/freebsd_plan.h"
#include "common/fd_passing.h"
#include "runtime/freebsd/devfs_plan.h"
#include "runtime/freebsd/devfs_rules.h"
#include "runtime/freebsd/jail_calls.h"
#include "runtime/freebsd/jail_plan.h"
#include "runtime/freebsd/kernel_features.h"
#include "runtime/shim_jail_backend.h"

namespace stockade::freebsd {
namespace {

bool IsDeviceNode(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode));
}

// A TCP connection to 127.0.0.1:port made inside jail `jid` (its own network stack): a child
// attaches to the jail, connects, and hands the socket back (jail_attach is for the whole
// process, so never in the daemon itself).
absl::StatusOr<UniqueFd> DialInJail(int jid, int port) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    return absl::InternalError(absl::StrCat("socketpair: ", std::strerror(errno)));
  }
  UniqueFd ours(pair[0]), theirs(pair[1]);
  const pid_t child = ::fork();
  if (child < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  if (child == 0) {
    int fd = -1;
    if (::jail_attach(jid) == 0) {
      fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<uint16_t>(port));
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        ::close(fd);
        fd = -1;
      }
    }
    if (fd < 0 || !SendDescriptor(theirs.get(), fd)) ::_exit(1);
    ::_exit(0);
  }
  theirs.Reset();
  UniqueFd conn = ReceiveDescriptor(ours.get());
  int status = 0;
  ::waitpid(child, &status, 0);
  if (!conn) {
    return absl::UnavailableError(
        absl::StrCat("nothing listens on 127.0.0.1:", port, " in the pod's jail"));
  }
  return conn;
}

absl::StatusOr<UniqueFd> DialOnNode(int port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return absl::UnavailableError(
        absl::StrCat("connect 127.0.0.1:", port, ": ", std::strerror(errno)));
  }
  return fd;
}

class FreeBsdJailBackend final : public ShimJailBackend {
 public:
  explicit FreeBsdJailBackend(const FreeBsdBackendOptions& options) : options_(options) {}

  absl::Status CreatePod(const PodLaunch& launch) override {
    if (launch.pid_mode == NamespaceMode::kPod) {
      return absl::InvalidArgumentError(
          "FreeBSD jails share no process table: a pod-wide PID namespace is not available");
    }
    if (!launch.jail.join_network_namespace.empty()) {
      return absl::InvalidArgumentError("FreeBSD pods cannot join a Linux network namespace");
    }
    ShimLaunch shim;
    shim.shim_path = options_.shim_path;
    shim.pod_id = launch.jail.pod_id;
    shim.dir = launch.dir;
    shim.hostname = launch.jail.hostname;
    shim.host_network = launch.jail.host_network;
    shim.host_ipc = launch.jail.share_ipc_with_host;
    shim.sysctls = launch.jail.sysctls;
    absl::StatusOr<std::unique_ptr<ShimClient>> client =
        ShimClient::Launch(shim, options_.shim_start_timeout);
    if (!client.ok()) return client.status();
    return absl::OkStatus();
  }

  absl::Status CheckVolumePropagation(const VolumeMount& m) override {
    if (m.propagation == MountPropagation::kPrivate) return absl::OkStatus();
    return absl::FailedPreconditionError(
        absl::StrCat("volume ", m.host_path,
                     ": FreeBSD's nullfs mounts never propagate between the node and "
                     "a jail; use Private (None) propagation"));
  }

  absl::StatusOr<UniqueFd> DialPod(const std::string& pod_id, bool host_network,
                                   int port) override {
    if (host_network) return DialOnNode(port);
    absl::StatusOr<int> jid = FindJail(PodJailName(pod_id));
    if (!jid.ok()) return jid.status();
    return DialInJail(*jid, port);
  }

  absl::StatusOr<std::vector<InterfaceCounters>> PodInterfaces(const std::string& pod_id,
                                                               bool host_network) override {
    std::vector<InterfaceCounters> out;
    if (host_network) return out;
    // The node's end of the pod's epair sees the pod's traffic the other way round.
    const std::string host_end = bridge::EpairHostName(pod_id, "eth0");
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) {
      return absl::InternalError(absl::StrCat("getifaddrs: ", std::strerror(errno)));
    }
    for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
      if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_LINK || a->ifa_data == nullptr ||
          host_end != a->ifa_name) {
        continue;
      }
      const auto* d = static_cast<const if_data*>(a->ifa_data);
      InterfaceCounters c;
      c.name = "eth0";
      c.rx_bytes = d->ifi_obytes;
      c.rx_packets = d->ifi_opackets;
      c.rx_errors = d->ifi_oerrors;
      c.tx_bytes = d->ifi_ibytes;
      c.tx_packets = d->ifi_ipackets;
      c.tx_errors = d->ifi_ierrors;
      c.tx_dropped = d->ifi_iqdrops;
      out.push_back(std::move(c));
    }
    ::freeifaddrs(list);
    return out;
  }

  absl::Status ForgetContainer(const std::string& dir, const std::string& id) override {
    if (absl::Status s = ShimJailBackend::ForgetContainer(dir, id); !s.ok()) return s;
    // The container's devfs ruleset, when it had devices.
    const std::string file = absl::StrCat(dir, "/", id, ".devfs");
    std::ifstream in(file);
    int ruleset = 0;
    if (in >> ruleset && ruleset > 0) {
      if (absl::Status s = RemoveDevfsRuleset(static_cast<uint16_t>(ruleset)); !s.ok()) return s;
    }
    ::unlink(file.c_str());
    return absl::OkStatus();
  }

 protected:
  absl::Status AfterPodShutdown(const std::string& pod_id) override {
    // A shim that died (or was killed) left its jail: remove it, and its children, now.
    return RemoveJail(PodJailName(pod_id));
  }

  absl::StatusOr<ShimContainerSpec> ContainerSpecOf(const std::string& dir,
                                                    const ContainerLaunch& launch) override {
    if (launch.pid_mode != NamespaceMode::kContainer) {
      return absl::InvalidArgumentError(
          "FreeBSD jails share no process table: a container's PID namespace is its own");
    }
    absl::StatusOr<ShimProcessSpec> process = ProcessOf(launch.process);
    if (!process.ok()) return process.status();
    ShimContainerSpec spec = CommonContainerSpec(launch, *std::move(process));
    spec.linux_image = launch.jail.linux_image;
    if (spec.linux_image && !options_.linux_abi) {
      return LinuxAbiMissingError(absl::StrCat("of container ", launch.jail.container_id));
    }
    // Device nodes cannot be nullfs-mounted: they come through the container's devfs ruleset.
    std::vector<DeviceRequest> devices;
    for (const VolumeMount& m : launch.jail.mounts) {
      if (IsDeviceNode(m.host_path)) {
        devices.push_back({m.host_path, m.container_path, m.read_only ? "r" : "rw"});
      } else {
        spec.mounts.push_back(m);
      }
    }
    if (!devices.empty()) {
      absl::StatusOr<DevfsPlan> plan =
          PlanDevfsRuleset(static_cast<uint16_t>(options_.base_devfs_ruleset), devices);
      if (!plan.ok()) return plan.status();
      absl::StatusOr<uint16_t> ruleset = LoadDevfsRuleset(launch.jail.container_id, *plan);
      if (!ruleset.ok()) return ruleset.status();
      spec.devfs_ruleset = *ruleset;
      for (const DevfsSymlink& l : plan->symlinks) spec.dev_links.emplace_back(l.link, l.target);
      // Kept with the pod, for ForgetContainer (and a restart) to remove the ruleset.
      std::ofstream(absl::StrCat(dir, "/", launch.jail.container_id, ".devfs")) << *ruleset << "\n";
    }
    return spec;
  }

  absl::StatusOr<ShimProcessSpec> ProcessOf(const ProcessIdentity& p) override {
    // A jail confines by its parameters; capabilities and seccomp are Linux's.
    return CommonProcessSpec(p);
  }

 private:
  FreeBsdBackendOptions options_;
};

}  // namespace

std::unique_ptr<JailBackend> NewFreeBsdJailBackend(const FreeBsdBackendOptions& options) {
  return std::make_unique<FreeBsdJailBackend>(options);
}

}  // namespace stockade::freebsd
