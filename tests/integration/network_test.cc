// Pod networking through CNI with Debian's standard plugins (bridge + host-local + portmap), the
// real daemon and real namespaces: pods reach each other, a hostPort reaches a pod, the network
// is released when the pod goes, and broken configs or plugins fail cleanly. Root.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "cni/bridge/bridge_plan.h"
#include "tests/support/pod_fixture.h"

namespace stockade::testing {
namespace {

using ::testing::HasSubstr;

// Each test runs twice: with Debian's standard plugin chain and with stockade-bridge.
class NetworkTest : public PodFixture, public ::testing::WithParamInterface<std::string> {
 protected:
  bool OurBridge() const { return GetParam() == "stockade-bridge"; }

  void ConfigureDaemon(DaemonProcess& daemon) override {
    ipam_dir_ = dir_.Sub("ipam");
    if (!OurBridge()) {
      std::ofstream(daemon.cni_conf_dir + "/10-test.conflist") << ChainConfig();
      return;
    }
    daemon.cni_bin_dirs = {STOCKADE_BRIDGE_DIR, "/usr/lib/cni"};
    std::ofstream(daemon.cni_conf_dir + "/10-test.conflist") << absl::StrCat(
        R"({"cniVersion": "1.0.0", "name": "stockade-test", "plugins": [
          {"type": "stockade-bridge", "bridge": ")",
        Bridge(), R"(",
           "capabilities": {"portMappings": true},
           "ipam": {"ranges": [{"subnet": ")",
        Subnet(), R"("}], "dataDir": ")", ipam_dir_, R"("}}]})");
  }
  void ExpectNoNetworkLeftOf(const std::string& pod_id) override {
    // host-local keeps one file per allocated address, holding the container ID.
    std::error_code ec;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(ipam_dir_, ec)) {
      if (entry.is_regular_file()) {
        EXPECT_THAT(ReadFile(entry.path().string()), ::testing::Not(HasSubstr(pod_id)))
            << entry.path() << " still allocates an address to " << pod_id;
      }
    }
    const RunResult rules = Run({"/usr/sbin/iptables-save"});
    ASSERT_EQ(rules.exit_code, 0);
    EXPECT_THAT(rules.out, ::testing::Not(HasSubstr(pod_id.substr(0, 12))));
    const RunResult links = Run({"/usr/sbin/ip", "-br", "link"});
    ASSERT_EQ(links.exit_code, 0);
    EXPECT_THAT(links.out, ::testing::Not(HasSubstr(bridge::HostVethName(pod_id, "eth0"))));
    auto ip = pod_ips_.find(pod_id);
    if (ip != pod_ips_.end()) {
      const RunResult nft = Run({"/usr/sbin/nft", "list", "ruleset"});
      ASSERT_EQ(nft.exit_code, 0);
      EXPECT_THAT(nft.out, ::testing::Not(HasSubstr(ip->second + " . ")));
    }
  }

  v1::PodSandboxStatus PodStatus(const std::string& pod) {
    v1::PodSandboxStatusRequest req;
    req.set_pod_sandbox_id(pod);
    v1::PodSandboxStatusResponse resp;
    grpc::Status s = runtime_->PodSandboxStatus(Ctx().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (!resp.status().network().ip().empty()) pod_ips_[pod] = resp.status().network().ip();
    return resp.status();
  }

  // A pod with one root container running `command`.
  std::string ServePod(const std::string& name, const std::vector<std::string>& command,
                       int host_port = 0, int container_port = 0, const std::string& host_ip = "") {
    v1::PodSandboxConfig config = PodConfig(name);
    if (host_port > 0) {
      auto* m = config.add_port_mappings();
      m->set_host_port(host_port);
      m->set_container_port(container_port);
      m->set_host_ip(host_ip);
    }
    const std::string pod = RunPod(config);
    v1::ContainerConfig c = ContainerConfig("main", command);
    c.mutable_linux()->mutable_security_context()->mutable_run_as_user()->set_value(0);
    Start(pod, c);
    PodStatus(pod);  // remembers its address, for the leftover checks at removal
    return pod;
  }

  v1::ExecSyncResponse ExecIn(const std::string& pod, const std::vector<std::string>& cmd) {
    v1::ListContainersRequest list;
    list.mutable_filter()->set_pod_sandbox_id(pod);
    v1::ListContainersResponse containers;
    EXPECT_TRUE(runtime_->ListContainers(Ctx().get(), list, &containers).ok());
    v1::ExecSyncResponse resp;
    if (containers.containers_size() == 0) return resp;
    grpc::Status s = Exec(containers.containers(0).id(), cmd, 20, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  // Connects to 127.0.0.1:port from the host and reads what the server says first.
  static std::string ReadFromLocalPort(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));  // bounds connect() too
    std::string got;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
      char buf[256];
      ssize_t n;
      while ((n = ::read(fd, buf, sizeof(buf))) > 0) got.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return got;
  }

  std::map<std::string, std::string> pod_ips_;
};

// A server in a network namespace of the test's own, reached from the host over a veth pair.
class OutsideServer {
 public:
  explicit OutsideServer(const std::string& tag)
      : ns_("stk-out" + tag), host_if_("stko" + tag), ns_if_("stki" + tag) {
    Sh("ip netns add " + ns_);
    Sh("ip link add " + host_if_ + " type veth peer name " + ns_if_ + " netns " + ns_);
    Sh("ip addr add 198.51.100.1/24 dev " + host_if_);
    Sh("ip link set " + host_if_ + " up");
    Sh("ip netns exec " + ns_ + " ip addr add 198.51.100.2/24 dev " + ns_if_);
    Sh("ip netns exec " + ns_ + " ip link set " + ns_if_ + " up");
    Sh("ip netns exec " + ns_ + " ip link set lo up");
    Sh("ip addr add fd99:51::1/64 nodad dev " + host_if_);
    Sh("ip netns exec " + ns_ + " ip addr add fd99:51::2/64 nodad dev " + ns_if_);
  }
  ~OutsideServer() {
    Sh("ip link del " + host_if_);
    Sh("ip netns del " + ns_);
  }
  // Runs a shell command inside the namespace; its stdout.
  std::string Run(const std::string& command) {
    return RunToCompletion({"/bin/sh", "-c", "ip netns exec " + ns_ + " " + command},
                           absl::Seconds(20))
        .stdout_text;
  }
  // Accepts one TCP connection on 198.51.100.2:9000 and answers with the peer's address.
  void ServeOnce() {
    const std::string cmd = "ip netns exec " + ns_ +
                            " python3 -c \"import socket; s = socket.socket(); "
                            "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
                            "s.bind(('198.51.100.2', 9000)); s.listen(); c, a = s.accept(); "
                            "c.sendall(('peer ' + a[0]).encode()); c.close()\" &";
    Sh(cmd);
  }

 private:
  static void Sh(const std::string& command) {
    RunToCompletion({"/bin/sh", "-c", command}, absl::Seconds(20));
  }
  std::string ns_, host_if_, ns_if_;
};

TEST_P(NetworkTest, TwoPodsOnTheBridgeReachEachOtherOverTcpAndIcmp) {
  const std::string server = ServePod(
      "server", {"sh", "-c", "while true; do echo hello-from-server | nc -l -p 8080; done"});
  const std::string client = ServePod("client", {"sleep", "1000"});
  const v1::PodSandboxStatus s = PodStatus(server);
  const std::string server_ip = s.network().ip();
  ASSERT_THAT(server_ip, ::testing::StartsWith(Subnet().substr(0, Subnet().size() - 4)));
  EXPECT_NE(PodStatus(client).network().ip(), server_ip);

  v1::ExecSyncResponse ping = ExecIn(client, {"ping", "-c", "1", "-W", "5", server_ip});
  EXPECT_EQ(ping.exit_code(), 0) << ping.stdout() << ping.stderr();
  v1::ExecSyncResponse tcp;
  ASSERT_TRUE(WaitFor(
      [&] {
        tcp = ExecIn(client, {"nc", "-w", "2", server_ip, "8080"});
        return absl::StrContains(tcp.stdout(), "hello-from-server");
      },
      absl::Seconds(20)))
      << tcp.stdout() << tcp.stderr();
  // The pod's own view: eth0 with its address, and lo.
  v1::ExecSyncResponse addr = ExecIn(server, {"ip", "addr"});
  EXPECT_THAT(addr.stdout(), HasSubstr(server_ip));
  EXPECT_THAT(addr.stdout(), HasSubstr("eth0"));
}

TEST_P(NetworkTest, AHostPortReachesThePodFromTheHostsLoopback) {
  const std::string pod = ServePod(
      "web", {"sh", "-c", "while true; do echo hello-through-hostport | nc -l -p 8080; done"},
      18080, 8080);
  std::string got;
  ASSERT_TRUE(WaitFor(
      [&] { return absl::StrContains(got = ReadFromLocalPort(18080), "hello-through-hostport"); },
      absl::Seconds(20)))
      << got;
}

TEST_P(NetworkTest, StopReleasesTheAddressAndRulesAndTheNextPodCanReuseThem) {
  const std::string pod = ServePod("first", {"sleep", "1000"}, 18081, 80);
  ASSERT_FALSE(PodStatus(pod).network().ip().empty());
  v1::StopPodSandboxRequest stop;
  stop.set_pod_sandbox_id(pod);
  v1::StopPodSandboxResponse stopped;
  ASSERT_TRUE(runtime_->StopPodSandbox(Ctx().get(), stop, &stopped).ok());
  EXPECT_EQ(PodStatus(pod).network().ip(), "");
  ExpectNoNetworkLeftOf(pod);
}

TEST_P(NetworkTest, NetworkIsReadyWithAValidConfigAndNotWithABrokenOne) {
  auto network_ready = [&](std::string* message) {
    v1::StatusResponse status;
    EXPECT_TRUE(runtime_->Status(Ctx().get(), v1::StatusRequest(), &status).ok());
    for (const v1::RuntimeCondition& c : status.status().conditions()) {
      if (c.type() == "NetworkReady") {
        *message = c.message();
        return c.status();
      }
    }
    return false;
  };
  std::string message;
  EXPECT_TRUE(network_ready(&message)) << message;
  std::filesystem::remove(daemon_->cni_conf_dir + "/10-test.conflist");
  std::ofstream(daemon_->cni_conf_dir + "/05-broken.conflist") << "{\"name\": ";
  EXPECT_FALSE(network_ready(&message));
  EXPECT_THAT(message, HasSubstr("05-broken.conflist"));
  // With no usable config a pod off the host network cannot start, and leaves nothing.
  v1::RunPodSandboxRequest req;
  *req.mutable_config() = PodConfig("nonet");
  v1::RunPodSandboxResponse resp;
  grpc::Status s = runtime_->RunPodSandbox(Ctx().get(), req, &resp);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.error_message(), HasSubstr("05-broken.conflist"));
  v1::ListPodSandboxResponse pods;
  ASSERT_TRUE(runtime_->ListPodSandbox(Ctx().get(), {}, &pods).ok());
  EXPECT_EQ(pods.items_size(), 0);
  EXPECT_TRUE(std::filesystem::is_empty(daemon_->run_dir + "/netns"));
}

TEST_P(NetworkTest, AMissingOrFailingPluginFailsThePodWithItsMessageAndLeavesNothing) {
  std::filesystem::remove(daemon_->cni_conf_dir + "/10-test.conflist");
  std::ofstream(daemon_->cni_conf_dir + "/10-missing.conflist")
      << R"({"cniVersion": "1.0.0", "name": "missing", "plugins": [{"type": "no-such-plugin"}]})";
  v1::RunPodSandboxRequest req;
  *req.mutable_config() = PodConfig("missing");
  v1::RunPodSandboxResponse resp;
  grpc::Status s = runtime_->RunPodSandbox(Ctx().get(), req, &resp);
  EXPECT_THAT(s.error_message(), HasSubstr("no-such-plugin"));

  // A real plugin with a config it refuses: its own message comes through.
  std::filesystem::remove(daemon_->cni_conf_dir + "/10-missing.conflist");
  std::ofstream(daemon_->cni_conf_dir + "/10-bad.conflist")
      << absl::StrCat(R"({"cniVersion": "1.0.0", "name": "bad", "plugins": [
             {"type": "bridge", "bridge": ")",
                      BadBridge(), R"(",
              "ipam": {"type": "host-local", "ranges": [[{"subnet": "not-a-subnet"}]]}}]})");
  *req.mutable_config() = PodConfig("bad");
  s = runtime_->RunPodSandbox(Ctx().get(), req, &resp);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.error_message(), HasSubstr("not-a-subnet"));
  v1::ListPodSandboxResponse pods;
  ASSERT_TRUE(runtime_->ListPodSandbox(Ctx().get(), {}, &pods).ok());
  EXPECT_EQ(pods.items_size(), 0);
  EXPECT_TRUE(std::filesystem::is_empty(daemon_->run_dir + "/netns"));
  EXPECT_TRUE(std::filesystem::is_empty(daemon_->run_dir + "/pods"));
}

TEST_P(NetworkTest, OutboundTrafficIsMasqueraded) {
  OutsideServer server(absl::StrCat(::getpid()));
  const std::string pod = ServePod("outbound", {"sleep", "1000"});
  const std::string pod_ip = PodStatus(pod).network().ip();
  v1::ExecSyncResponse got;
  ASSERT_TRUE(WaitFor(
      [&] {
        server.ServeOnce();
        absl::SleepFor(absl::Milliseconds(200));
        got = ExecIn(pod, {"nc", "-w", "3", "198.51.100.2", "9000"});
        return absl::StrContains(got.stdout(), "peer ");
      },
      absl::Seconds(20)))
      << got.stdout() << got.stderr();
  EXPECT_THAT(got.stdout(), HasSubstr("peer 198.51.100.1"));
  EXPECT_THAT(got.stdout(), ::testing::Not(HasSubstr(pod_ip)));
}

TEST_P(NetworkTest, AHostPortReachesThePodFromAnotherNetworkNamespace) {
  OutsideServer outside(absl::StrCat(::getpid()));
  ServePod("web", {"sh", "-c", "while true; do echo hello-from-afar | nc -l -p 8080; done"}, 18082,
           8080);
  std::string got;
  ASSERT_TRUE(WaitFor(
      [&] {
        got = outside.Run("busybox nc -w 3 198.51.100.1 18082 </dev/null");
        return absl::StrContains(got, "hello-from-afar");
      },
      absl::Seconds(20)))
      << got;
}

// A mapping with hostIP 127.0.0.1 is published on the loopback only, as kubelet asks: another
// host reaching the node's other addresses on that port gets nothing.
TEST_P(NetworkTest, AHostPortOnOneHostIpIsPublishedThereOnly) {
  OutsideServer outside(absl::StrCat(::getpid()));
  ServePod("local", {"sh", "-c", "while true; do echo hello-local-only | nc -l -p 8080; done"},
           18083, 8080, "127.0.0.1");
  std::string got;
  ASSERT_TRUE(
      WaitFor([&] { return absl::StrContains(got = ReadFromLocalPort(18083), "hello-local-only"); },
              absl::Seconds(20)))
      << got;
  got = outside.Run("busybox nc -w 3 198.51.100.1 18083 </dev/null");
  EXPECT_THAT(got, ::testing::Not(HasSubstr("hello-local-only")));
}

TEST_P(NetworkTest, KillNineAndRestartKeepsThePodAddressAndDetachesOnStop) {
  const std::string pod = ServePod("survivor", {"sleep", "1000"});
  const std::string ip = PodStatus(pod).network().ip();
  ASSERT_FALSE(ip.empty());
  daemon_->Stop(SIGKILL);
  StartDaemon();
  EXPECT_EQ(PodStatus(pod).network().ip(), ip);
  // At start the plugins CHECKed the attachment with the result saved before the crash.
  EXPECT_THAT(daemon_->Stderr(), HasSubstr("the pod's network checks out"));
  // TearDown stops and removes it: DEL runs with the result saved before the restart.
}

// stockade-bridge with an IPv4 and an IPv6 range: both addresses reach PodSandboxStatus.
class DualStackTest : public PodFixture {
 protected:
  void ConfigureDaemon(DaemonProcess& daemon) override {
    ipam_dir_ = dir_.Sub("ipam");
    daemon.cni_bin_dirs = {STOCKADE_BRIDGE_DIR};
    std::ofstream(daemon.cni_conf_dir + "/10-test.conflist") << absl::StrCat(
        R"({"cniVersion": "1.0.0", "name": "dual", "plugins": [{"type": "stockade-bridge",
           "bridge": ")",
        Bridge(), R"(", "capabilities": {"portMappings": true},
           "ipam": {"ranges": [{"subnet": ")",
        Subnet(), R"("}, {"subnet": "fd00:5:)", absl::Hex(::getpid() % 65536), R"(::/64"}],
           "dataDir": ")",
        ipam_dir_, R"("}}]})");
  }
};

TEST_F(DualStackTest, PodsGetAnIpv4AndAnIpv6Address) {
  const std::string pod = RunPod(PodConfig("dual"));
  v1::PodSandboxStatusRequest req;
  req.set_pod_sandbox_id(pod);
  v1::PodSandboxStatusResponse resp;
  ASSERT_TRUE(runtime_->PodSandboxStatus(Ctx().get(), req, &resp).ok());
  const v1::PodSandboxNetworkStatus& net = resp.status().network();
  EXPECT_THAT(net.ip(), ::testing::StartsWith(Subnet().substr(0, Subnet().size() - 4)));
  ASSERT_EQ(net.additional_ips_size(), 1);
  EXPECT_THAT(net.additional_ips(0).ip(), ::testing::StartsWith("fd00:5:"));
  v1::ContainerConfig c = ContainerConfig("c", {"ip", "-6", "addr", "show", "eth0"});
  EXPECT_THAT(OutputOf(pod, c), HasSubstr(net.additional_ips(0).ip()));
}

// An IPv6 hostPort reaches the pod's IPv6 address from another network namespace.
TEST_F(DualStackTest, AnIpv6HostPortReachesThePodFromAnotherNamespace) {
  OutsideServer outside(absl::StrCat(::getpid()));
  v1::PodSandboxConfig config = PodConfig("web6");
  auto* m = config.add_port_mappings();
  m->set_host_port(18086);
  m->set_container_port(8080);
  const std::string pod = RunPod(config);
  v1::ContainerConfig c =
      ContainerConfig("web", {"sh", "-c",
                              "mkdir -p /tmp/www && echo hello-over-ipv6 > /tmp/www/index.html && "
                              "exec httpd -f -p 8080 -h /tmp/www"});
  c.mutable_linux()->mutable_security_context()->mutable_run_as_user()->set_value(0);
  Start(pod, c);
  const std::string get =
      "python3 -c \"import socket; s = socket.create_connection(('fd99:51::1', 18086), 3); "
      "s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n'); "
      "print(b''.join(iter(lambda: s.recv(4096), b'')).decode())\"";
  std::string got;
  ASSERT_TRUE(WaitFor([&] { return absl::StrContains(got = outside.Run(get), "hello-over-ipv6"); },
                      absl::Seconds(20)))
      << got;
}

// The pod subnets leave stockade-bridge's nftables sets with their network's last pod.
TEST_F(DualStackTest, TheLastPodTakesItsSubnetsOutOfTheNatRules) {
  const std::string v6_subnet = absl::StrCat("fd00:5:", absl::Hex(::getpid() % 65536), "::/64");
  auto sets = [] {
    return RunToCompletion({"/bin/sh", "-c",
                            "nft list set ip stockade pod_subnets; nft list set ip stockade "
                            "masq_subnets; nft list set ip6 stockade pod_subnets"},
                           absl::Seconds(10))
        .stdout_text;
  };
  const std::string a = RunPod(PodConfig("a"));
  const std::string b = RunPod(PodConfig("b"));
  EXPECT_THAT(sets(), HasSubstr(Subnet()));
  EXPECT_THAT(sets(), HasSubstr(v6_subnet));
  for (const std::string& pod : {a, b}) {
    v1::StopPodSandboxRequest stop;
    stop.set_pod_sandbox_id(pod);
    v1::StopPodSandboxResponse stopped;
    ASSERT_TRUE(runtime_->StopPodSandbox(Ctx().get(), stop, &stopped).ok());
    // Still there while one pod of the network is left.
    if (pod == a) {
      EXPECT_THAT(sets(), HasSubstr(Subnet()));
    }
  }
  EXPECT_THAT(sets(), ::testing::Not(HasSubstr(Subnet())));
  EXPECT_THAT(sets(), ::testing::Not(HasSubstr(v6_subnet)));
}

INSTANTIATE_TEST_SUITE_P(Plugins, NetworkTest, ::testing::Values("standard", "stockade-bridge"),
                         [](const auto& info) {
                           return info.param == "standard" ? std::string("StandardChain")
                                                           : std::string("StockadeBridge");
                         });

}  // namespace
}  // namespace stockade::testing
