// The stockade-bridge binary as a CNI runtime calls it: VERSION, ADD (twice), CHECK, DEL
// (twice, and of something unknown), errors as CNI error documents. Root: a real network
// namespace, bridge, veth and nftables.
#include <unistd.h>

#include <fstream>
#include <set>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cni/bridge/bridge_plan.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/daemon_process.h"
#include "tests/support/temp_dir.h"

namespace stockade::testing {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

class BridgePluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u);
    tag_ = absl::StrCat(::getpid());
    netns_ = "stkbp" + tag_;
    bridge_ = "stkbp" + tag_;
    // Per test process: the host veth's name is derived from the container ID, and tests of
    // this suite run in parallel.
    pod1_ = absl::StrCat("pod-", tag_, "-1");
    pod2_ = absl::StrCat("pod-", tag_, "-2");
    // Per test process too: the hostports map is the node's, shared by every network, and a
    // pod takes over a hostPort that another address holds.
    host_port_ = absl::StrCat(18000 + ::getpid() % 1000);
    ASSERT_EQ(Sh("ip netns add " + netns_), 0);
    config_ = absl::StrCat(R"({"cniVersion": "1.0.0", "name": "bp)", tag_, R"(", "type":
        "stockade-bridge", "bridge": ")",
                           bridge_, R"(", "mtu": 1400,
        "ipam": {"ranges": [{"subnet": "10.251.)",
                           ::getpid() % 250, R"(.0/24"}],
                 "dataDir": ")",
                           dir_.Sub("ipam"), R"("},
        "runtimeConfig": {"portMappings": [{"hostPort": )",
                           host_port_, R"(, "containerPort": 80, "protocol": "tcp"}]}})");
  }
  void TearDown() override {
    Sh("ip netns del " + netns_);
    Sh("ip link del " + bridge_);
  }

  static int Sh(const std::string& command) {
    return RunToCompletion({"/bin/sh", "-c", command}, absl::Seconds(20)).exit_code;
  }

  // Calls from several threads at once are fine: each has its own stdin file.
  ProcessResult Plugin(const std::string& command, const std::string& container_id,
                       const std::string& config, const std::string& netns = "") {
    const std::string input = dir_.Sub(absl::StrCat("stdin-", command, "-", container_id, ".json"));
    std::ofstream(input) << config;
    return RunToCompletion({"/bin/sh", "-c",
                            absl::StrCat("CNI_COMMAND=", command, " CNI_CONTAINERID=", container_id,
                                         " CNI_NETNS=/run/netns/", netns.empty() ? netns_ : netns,
                                         " CNI_IFNAME=eth0 CNI_PATH=/nowhere ", STOCKADE_BRIDGE_DIR,
                                         "/stockade-bridge < ", input)},
                           absl::Seconds(20));
  }

  TempDir dir_;
  std::string tag_, netns_, bridge_, config_, pod1_, pod2_, host_port_;
};

TEST_F(BridgePluginTest, SpecBehaviours) {
  ProcessResult version = Plugin("VERSION", "", "{}");
  ASSERT_EQ(version.exit_code, 0);
  EXPECT_THAT(Json::parse(version.stdout_text)["supportedVersions"], ::testing::Contains("1.0.0"));

  ProcessResult add = Plugin("ADD", pod1_, config_);
  ASSERT_EQ(add.exit_code, 0) << add.stdout_text << add.stderr_text;
  Json result = Json::parse(add.stdout_text);
  const std::string address = result["ips"][0]["address"];
  EXPECT_EQ(result["interfaces"][2]["name"], "eth0");
  EXPECT_EQ(result["interfaces"][2]["sandbox"], "/run/netns/" + netns_);
  ProcessResult again = Plugin("ADD", pod1_, config_);
  ASSERT_EQ(again.exit_code, 0) << again.stdout_text;
  EXPECT_EQ(Json::parse(again.stdout_text)["ips"][0]["address"], address) << "idempotent";

  const std::string inside =
      RunToCompletion(
          {"/bin/sh", "-c",
           "ip netns exec " + netns_ + " ip addr show eth0; ip netns exec " + netns_ + " ip route"},
          absl::Seconds(10))
          .stdout_text;
  EXPECT_THAT(inside, HasSubstr(address));
  EXPECT_THAT(inside, HasSubstr("mtu 1400"));
  EXPECT_THAT(inside, HasSubstr("default via"));
  const std::string veth = bridge::HostVethName(pod1_, "eth0");
  EXPECT_THAT(
      RunToCompletion({"/bin/sh", "-c", "ip -d link show " + veth}, absl::Seconds(10)).stdout_text,
      HasSubstr("hairpin on"));
  const std::string pod_ip = address.substr(0, address.find('/'));
  EXPECT_THAT(RunToCompletion({"/usr/sbin/nft", "list", "map", "ip", "stockade", "hostports"},
                              absl::Seconds(10))
                  .stdout_text,
              HasSubstr("tcp . " + host_port_ + " : " + pod_ip + " . 80"));
  EXPECT_EQ(Plugin("CHECK", pod1_, config_).exit_code, 0);

  ProcessResult del = Plugin("DEL", pod1_, config_);
  ASSERT_EQ(del.exit_code, 0) << del.stdout_text;
  EXPECT_EQ(Plugin("DEL", pod1_, config_).exit_code, 0) << "DEL again";
  EXPECT_EQ(Plugin("DEL", "never-added", config_).exit_code, 0) << "DEL of the unknown";
  EXPECT_NE(Sh("ip link show " + veth), 0);
  EXPECT_THAT(RunToCompletion({"/usr/sbin/nft", "list", "map", "ip", "stockade", "hostports"},
                              absl::Seconds(10))
                  .stdout_text,
              ::testing::Not(HasSubstr(pod_ip + " . 80")));
  ProcessResult check = Plugin("CHECK", pod1_, config_);
  EXPECT_NE(check.exit_code, 0);
  EXPECT_EQ(Json::parse(check.stdout_text)["code"], 100);
}

// A pod given the address another pod had: the node's neighbour entry for it (still the old
// pod's MAC) learns the new MAC from the pod's gratuitous ARP, at once rather than after the
// entry goes stale and its probes fail.
TEST_F(BridgePluginTest, AReusedAddressIsAnnouncedToTheBridge) {
  ProcessResult first = Plugin("ADD", pod1_, config_);
  ASSERT_EQ(first.exit_code, 0) << first.stdout_text;
  const std::string address = Json::parse(first.stdout_text)["ips"][0]["address"];
  const std::string pod_ip = address.substr(0, address.find('/'));
  ASSERT_EQ(Plugin("DEL", pod1_, config_).exit_code, 0);
  ASSERT_EQ(Sh(absl::StrCat("ip neigh replace ", pod_ip, " lladdr 02:00:5e:00:00:01 dev ", bridge_,
                            " nud stale")),
            0);
  // And its hostPort still points at an address whose DEL never came: the new pod takes it.
  ASSERT_EQ(
      Sh("nft add element ip stockade hostports '{ tcp . " + host_port_ + " : 192.0.2.1 . 80 }'"),
      0);

  ProcessResult second = Plugin("ADD", pod2_, config_);
  ASSERT_EQ(second.exit_code, 0) << second.stdout_text;
  const Json result = Json::parse(second.stdout_text);
  ASSERT_EQ(result["ips"][0]["address"], address) << "the first free address is reused";
  // The bridge kept its MAC (the gateway's) when its only port changed: a new MAC would have
  // flushed its neighbour table.
  EXPECT_EQ(result["interfaces"][0]["mac"], Json::parse(first.stdout_text)["interfaces"][0]["mac"]);
  EXPECT_NE(result["interfaces"][0]["mac"], result["interfaces"][1]["mac"]);
  const std::string pod_mac = result["interfaces"][2]["mac"];
  std::string neighbour;
  for (int i = 0; i < 100; ++i) {
    neighbour = RunToCompletion({"/bin/sh", "-c", "ip neigh show " + pod_ip + " dev " + bridge_},
                                absl::Seconds(10))
                    .stdout_text;
    if (absl::StrContains(neighbour, pod_mac)) break;
    ::usleep(20'000);
  }
  EXPECT_THAT(neighbour, HasSubstr(pod_mac));
  EXPECT_THAT(RunToCompletion({"/usr/sbin/nft", "list", "map", "ip", "stockade", "hostports"},
                              absl::Seconds(10))
                  .stdout_text,
              HasSubstr("tcp . " + host_port_ + " : " + pod_ip + " . 80"));
  EXPECT_EQ(Plugin("DEL", pod2_, config_).exit_code, 0);
}

// ADDs on one network overlap (the network's lock is not held while interfaces are made): they
// still get distinct addresses, and a DEL that takes a subnet's last address never takes the
// subnet out of the sets under an ADD that just joined it.
TEST_F(BridgePluginTest, ConcurrentAddsAndDelsOnOneNetwork) {
  const std::string subnet = absl::StrCat("10.251.", ::getpid() % 250, ".0/24");
  constexpr int kPods = 6;
  Json no_ports = Json::parse(config_);
  no_ports.erase("runtimeConfig");  // one hostPort cannot go to six pods
  const std::string config = no_ports.dump();
  std::vector<std::string> netns, ids;
  for (int i = 0; i < kPods; ++i) {
    netns.push_back(absl::StrCat(netns_, "-", i));
    ids.push_back(absl::StrCat("pod-", tag_, "-c", i));
    ASSERT_EQ(Sh("ip netns add " + netns.back()), 0);
  }
  absl::Cleanup remove_netns = [&] {
    for (const std::string& n : netns) Sh("ip netns del " + n);
  };
  std::vector<ProcessResult> added(kPods);
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < kPods; ++i) {
      threads.emplace_back([&, i] { added[i] = Plugin("ADD", ids[i], config, netns[i]); });
    }
    for (std::thread& t : threads) t.join();
  }
  std::set<std::string> addresses;
  for (const ProcessResult& r : added) {
    ASSERT_EQ(r.exit_code, 0) << r.stdout_text << r.stderr_text;
    addresses.insert(Json::parse(r.stdout_text)["ips"][0]["address"].get<std::string>());
  }
  EXPECT_EQ(addresses.size(), static_cast<size_t>(kPods)) << "distinct addresses";
  for (int i = 1; i < kPods; ++i) ASSERT_EQ(Plugin("DEL", ids[i], config, netns[i]).exit_code, 0);

  // The network's last pod leaves while another joins, again and again.
  auto pod_subnets = [] {
    return RunToCompletion({"/usr/sbin/nft", "list", "set", "ip", "stockade", "pod_subnets"},
                           absl::Seconds(10))
        .stdout_text;
  };
  for (int round = 0; round < 4; ++round) {
    const int leaving = round % 2 == 0 ? 0 : 1, joining = 1 - leaving;
    ProcessResult del, add;
    std::thread t([&] { del = Plugin("DEL", ids[leaving], config, netns[leaving]); });
    add = Plugin("ADD", ids[joining], config, netns[joining]);
    t.join();
    ASSERT_EQ(del.exit_code, 0) << del.stdout_text;
    ASSERT_EQ(add.exit_code, 0) << add.stdout_text;
    EXPECT_THAT(pod_subnets(), HasSubstr(subnet)) << "round " << round;
  }
  ASSERT_EQ(Plugin("DEL", ids[0], config, netns[0]).exit_code, 0);
  ASSERT_EQ(Plugin("DEL", ids[1], config, netns[1]).exit_code, 0);
  EXPECT_THAT(pod_subnets(), ::testing::Not(HasSubstr(subnet))) << "the last pod took it out";
}

TEST_F(BridgePluginTest, ErrorsAreCniErrorDocuments) {
  ProcessResult bad = Plugin("ADD", pod1_, R"({"name": "x", "ipam": {"ranges": []}})");
  EXPECT_NE(bad.exit_code, 0);
  Json e = Json::parse(bad.stdout_text);
  EXPECT_EQ(e["code"], 7);
  EXPECT_THAT(e["msg"].get<std::string>(), HasSubstr("ipam.ranges"));

  // A range with room for one pod: the second gets a clear error and nothing is left of it.
  const std::string tiny = absl::StrCat(R"({"cniVersion": "1.0.0", "name": "tiny)", tag_,
                                        R"(", "bridge": ")", bridge_, R"(",
      "ipam": {"ranges": [{"subnet": "10.252.)",
                                        ::getpid() % 250, R"(.0/30"}],
               "dataDir": ")",
                                        dir_.Sub("ipam"), R"("}})");
  ASSERT_EQ(Plugin("ADD", pod1_, tiny).exit_code, 0);
  ASSERT_EQ(Sh("ip netns add " + netns_ + "b"), 0);
  ProcessResult full =
      RunToCompletion({"/bin/sh", "-c",
                       absl::StrCat("echo '", tiny, "' | CNI_COMMAND=ADD CNI_CONTAINERID=", pod2_,
                                    " CNI_NETNS=/run/netns/", netns_, "b CNI_IFNAME=eth0 ",
                                    STOCKADE_BRIDGE_DIR, "/stockade-bridge")},
                      absl::Seconds(20));
  Sh("ip netns del " + netns_ + "b");
  EXPECT_NE(full.exit_code, 0);
  EXPECT_THAT(full.stdout_text, HasSubstr("no free address"));
  EXPECT_NE(Sh("ip link show " + bridge::HostVethName(pod2_, "eth0")), 0);
  EXPECT_EQ(Plugin("DEL", pod1_, tiny).exit_code, 0);
}

}  // namespace
}  // namespace stockade::testing
