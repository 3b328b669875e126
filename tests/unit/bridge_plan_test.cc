// stockade-bridge's portable logic: config, names, address arithmetic, nftables plans, results,
// and the file-based address allocator.
#include <thread>

#include "absl/strings/str_cat.h"
#include "cni/bridge/bridge_plan.h"
#include "cni/bridge/freebsd_plan.h"
#include "cni/bridge/ipam.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/temp_dir.h"

namespace stockade::bridge {
namespace {

using stockade::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(BridgeConfig, DefaultsAndNormalisedSubnets) {
  absl::StatusOr<BridgeConfig> c = ParseBridgeConfig(R"({"cniVersion": "1.0.0", "name": "pods",
      "ipam": {"ranges": [{"subnet": "10.88.7.9/16"}, {"subnet": "fd88::1/64"}]},
      "runtimeConfig": {"portMappings": [{"hostPort": 8080, "containerPort": 80,
                                          "protocol": "tcp"}]}})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->bridge, "stockade0");
  EXPECT_EQ(c->mtu, 1500);
  EXPECT_TRUE(c->hairpin);
  EXPECT_TRUE(c->ip_masq);
  ASSERT_EQ(c->ranges.size(), 2u);
  EXPECT_EQ(c->ranges[0].subnet, "10.88.0.0/16");
  EXPECT_EQ(c->ranges[0].gateway, "10.88.0.1");
  EXPECT_EQ(c->ranges[1].subnet, "fd88::/64");
  EXPECT_EQ(c->ranges[1].gateway, "fd88::1");
  ASSERT_EQ(c->port_mappings.size(), 1u);
  EXPECT_EQ(c->port_mappings[0].host_port, 8080);
}

TEST(BridgeConfig, BadConfigsNameTheField) {
  EXPECT_THAT(ParseBridgeConfig("{").status().message(), HasSubstr("not JSON"));
  EXPECT_THAT(ParseBridgeConfig(R"({"name": "n"})").status().message(), HasSubstr("ipam.ranges"));
  EXPECT_THAT(ParseBridgeConfig(R"({"name": 5})").status().message(), HasSubstr("malformed"));
  EXPECT_THAT(ParseBridgeConfig(R"({"name": "n", "ipam": {"ranges": [{"subnet": []}]}})")
                  .status()
                  .message(),
              HasSubstr("malformed"));
  EXPECT_THAT(ParseBridgeConfig(R"({"name": "n", "ipam": {"ranges": [{"subnet": "10.1.0.0"}]}})")
                  .status()
                  .message(),
              HasSubstr("no /prefix"));
  EXPECT_THAT(ParseBridgeConfig(R"({"name": "n", "ipam": {"ranges": [{"subnet": "10.1.0.0/31"}]}})")
                  .status()
                  .message(),
              HasSubstr("too small"));
  EXPECT_THAT(ParseBridgeConfig(R"({"name": "n", "bridge": "a-name-far-too-long",
                                    "ipam": {"ranges": [{"subnet": "10.1.0.0/24"}]}})")
                  .status()
                  .message(),
              HasSubstr("bridge"));
  EXPECT_THAT(
      ParseBridgeConfig(R"({"name": "../etc", "ipam": {"ranges": [{"subnet": "10.1.0.0/24"}]}})")
          .status()
          .message(),
      HasSubstr("name"));
  EXPECT_THAT(ParseBridgeConfig(R"({"name": "n", "ipam": {"ranges": [{"subnet": "10.1.0.0/24"}]},
      "runtimeConfig": {"portMappings": [{"hostPort": 70000, "containerPort": 80}]}})")
                  .status()
                  .message(),
              HasSubstr("portMappings"));
}

TEST(BridgePlan, BridgeMacsAreLocalUnicastStableAndDistinct) {
  const std::array<uint8_t, 6> a = BridgeMac("stockade0");
  EXPECT_EQ(a, BridgeMac("stockade0"));
  EXPECT_NE(a, BridgeMac("stockade1"));
  EXPECT_EQ(a[0] & 0x03, 0x02) << "locally administered (bit 1), unicast (bit 0 clear)";
}

TEST(BridgePlan, HostVethNamesAreStableShortAndDistinct) {
  const std::string a = HostVethName(std::string(64, 'a'), "eth0");
  EXPECT_EQ(a, HostVethName(std::string(64, 'a'), "eth0"));
  EXPECT_NE(a, HostVethName(std::string(64, 'b'), "eth0"));
  EXPECT_NE(a, HostVethName(std::string(64, 'a'), "eth1"));
  EXPECT_LE(a.size(), 15u);
  EXPECT_THAT(a, ::testing::StartsWith("stk"));
}

TEST(BridgePlan, AddressArithmetic) {
  EXPECT_EQ(*AddressAt("10.88.0.0/16", 258), "10.88.1.2");
  EXPECT_EQ(*AddressAt("fd88::/64", 65537), "fd88::1:1");
  EXPECT_TRUE(absl::IsOutOfRange(AddressAt("10.88.0.0/30", 4).status()));
  EXPECT_EQ(AllocatableAddresses("10.88.0.0/24"), 253u);
  EXPECT_EQ(AllocatableAddresses("10.88.0.0/30"), 1u);
  EXPECT_EQ(AllocatableAddresses("fd88::/64"), 65536u);
  EXPECT_EQ(PrefixLength("fd88::/64"), 64);
}

TEST(BridgePlan, NftablesCommands) {
  const std::vector<std::string> v4 = NftBaseCommands(NftFamily::kIp);
  EXPECT_THAT(v4, ::testing::Contains(HasSubstr("add table ip stockade")));
  EXPECT_THAT(v4, ::testing::Contains(HasSubstr("add set ip stockade masq_subnets")));
  EXPECT_THAT(v4, ::testing::Contains(HasSubstr("map @hostports")));
  EXPECT_THAT(v4, ::testing::Contains(HasSubstr("ip daddr . meta l4proto . th dport map "
                                                "@hostip_ports")));
  EXPECT_THAT(v4, ::testing::Contains(HasSubstr("ip saddr 127.0.0.0/8 ip daddr @pod_subnets")));
  EXPECT_THAT(
      v4, ::testing::Contains("add rule ip stockade postrouting ip saddr @masq_subnets ip daddr != "
                              "@pod_subnets masquerade"));
  const std::vector<std::string> v6 = NftBaseCommands(NftFamily::kIp6);
  EXPECT_THAT(v6, ::testing::Contains(HasSubstr("type ipv6_addr . inet_proto . inet_service : "
                                                "ipv6_addr . inet_service")));
  EXPECT_THAT(v6, ::testing::Not(::testing::Contains(HasSubstr("127.0.0.0/8"))));
  for (const std::string& c : v6) EXPECT_THAT(c, HasSubstr(" ip6 stockade")) << c;

  EXPECT_THAT(NftAddSubnet("10.88.0.0/16", true),
              ElementsAre("add element ip stockade pod_subnets { 10.88.0.0/16 }",
                          "add element ip stockade masq_subnets { 10.88.0.0/16 }"));
  EXPECT_THAT(NftAddSubnet("fd88::/64", false),
              ElementsAre("add element ip6 stockade pod_subnets { fd88::/64 }"));
  EXPECT_THAT(NftDeleteSubnet("fd88::/64"),
              ElementsAre("delete element ip6 stockade pod_subnets { fd88::/64 }",
                          "delete element ip6 stockade masq_subnets { fd88::/64 }"));
}

TEST(BridgePlan, HostPortsByFamilyAndHostIp) {
  const std::vector<HostPort> ports = {{8080, 80, "tcp", ""},          {5353, 53, "udp", ""},
                                       {9000, 90, "tcp", "127.0.0.1"}, {9001, 91, "tcp", "0.0.0.0"},
                                       {9002, 92, "tcp", "::1"},       {9003, 93, "tcp", "::"}};
  EXPECT_THAT(NftAddHostPorts(ports, "10.88.0.5"),
              ElementsAre("add element ip stockade hostports { tcp . 8080 : 10.88.0.5 . 80 }",
                          "add element ip stockade hostports { udp . 5353 : 10.88.0.5 . 53 }",
                          "add element ip stockade hostip_ports { 127.0.0.1 . tcp . 9000 : "
                          "10.88.0.5 . 90 }",
                          "add element ip stockade hostports { tcp . 9001 : 10.88.0.5 . 91 }"));
  EXPECT_THAT(NftAddHostPorts(ports, "fd88::5"),
              ElementsAre("add element ip6 stockade hostports { tcp . 8080 : fd88::5 . 80 }",
                          "add element ip6 stockade hostports { udp . 5353 : fd88::5 . 53 }",
                          "add element ip6 stockade hostip_ports { ::1 . tcp . 9002 : fd88::5 . "
                          "92 }",
                          "add element ip6 stockade hostports { tcp . 9003 : fd88::5 . 93 }"));
  // Only keys that still point at this pod are deleted.
  const std::string listing =
      "map hostports {\n elements = { tcp . 8080 : 10.88.0.5 . 80, udp . 5353 : 10.88.0.9 . 53 }"
      "\n}\nmap hostip_ports {\n elements = { 127.0.0.1 . tcp . 9000 : 10.88.0.5 . 90 }\n}";
  EXPECT_THAT(NftDeleteHostPorts(ports, "10.88.0.5", listing),
              ElementsAre("delete element ip stockade hostports { tcp . 8080 }",
                          "delete element ip stockade hostip_ports { 127.0.0.1 . tcp . 9000 }"));
}

TEST(BridgePlan, HostIpIsCheckedAndCanonical) {
  auto config = [](const std::string& host_ip) {
    return absl::StrCat(
        R"({"cniVersion":"1.0.0","name":"n","type":"stockade-bridge",)",
        R"("ipam":{"ranges":[{"subnet":"10.88.0.0/16"}]},)",
        R"("runtimeConfig":{"portMappings":[{"hostPort":80,"containerPort":80,"protocol":"tcp",)",
        R"("hostIP":")", host_ip, R"("}]}})");
  };
  absl::StatusOr<BridgeConfig> c = ParseBridgeConfig(config("0:0::1"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->port_mappings.at(0).host_ip, "::1");
  c = ParseBridgeConfig(config("localhost"));
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("hostIP \"localhost\""));
}

TEST(BridgePlan, ResultsFollowTheSpecVersion) {
  const std::string r = ResultJson(
      "1.0.0", {{"stockade0", "aa", ""}, {"stk1", "bb", ""}, {"eth0", "cc", "/run/netns/x"}},
      {{"10.88.0.5/16", "10.88.0.1", 2}});
  nlohmann::json j = nlohmann::json::parse(r);
  EXPECT_EQ(j["interfaces"][2]["sandbox"], "/run/netns/x");
  EXPECT_EQ(j["ips"][0]["interface"], 2);
  EXPECT_FALSE(j["ips"][0].contains("version"));
  EXPECT_EQ(j["routes"][0]["dst"], "0.0.0.0/0");
  nlohmann::json old =
      nlohmann::json::parse(ResultJson("0.4.0", {}, {{"fd88::5/64", "fd88::1", 2}}));
  EXPECT_EQ(old["ips"][0]["version"], "6");
  nlohmann::json e = nlohmann::json::parse(ErrorJson("1.0.0", 7, "bad", "why"));
  EXPECT_EQ(e["code"], 7);
  EXPECT_EQ(e["details"], "why");
}

TEST(BridgeIpam, AllocatesReusesReleasesAndRunsOut) {
  TempDir dir;
  AddressRange range{"10.9.0.0/29", "10.9.0.1"};  // 8 addresses: 5 for pods
  absl::StatusOr<AddressAllocator> ipam = AddressAllocator::Lock(dir.path(), "net");
  ASSERT_TRUE(ipam.ok()) << ipam.status();
  EXPECT_EQ(*ipam->Allocate(range, "pod-a", "eth0"), "10.9.0.2");
  EXPECT_EQ(*ipam->Allocate(range, "pod-a", "eth0"), "10.9.0.2") << "ADD again: same address";
  EXPECT_EQ(*ipam->Allocate(range, "pod-b", "eth0"), "10.9.0.3");
  for (const char* pod : {"c", "d", "e"}) ASSERT_TRUE(ipam->Allocate(range, pod, "eth0").ok());
  absl::StatusOr<std::string> none = ipam->Allocate(range, "pod-f", "eth0");
  EXPECT_TRUE(absl::IsResourceExhausted(none.status()));
  EXPECT_THAT(none.status().message(), HasSubstr("10.9.0.0/29"));
  ASSERT_TRUE(ipam->Release("pod-a", "eth0").ok());
  EXPECT_TRUE(ipam->Held("pod-a", "eth0").empty());
  EXPECT_EQ(*ipam->Allocate(range, "pod-f", "eth0"), "10.9.0.2");
  EXPECT_TRUE(ipam->Release("never-seen", "eth0").ok());
  AddressRange v6{"fd00::/120", "fd00::1"};
  EXPECT_EQ(*ipam->Allocate(v6, "pod-b", "eth0"), "fd00::2");
  EXPECT_THAT(ipam->Held("pod-b", "eth0"), ::testing::UnorderedElementsAre("10.9.0.3", "fd00::2"));
}

TEST(BridgeIpam, RangeStartAndEndBoundTheAllocations) {
  absl::StatusOr<BridgeConfig> c = ParseBridgeConfig(R"({"name": "n", "ipam": {"ranges": [
      {"subnet": "10.7.0.0/24", "rangeStart": "10.7.0.100", "rangeEnd": "10.7.0.101"}]}})");
  ASSERT_TRUE(c.ok()) << c.status();
  TempDir dir;
  absl::StatusOr<AddressAllocator> ipam = AddressAllocator::Lock(dir.path(), "n");
  EXPECT_EQ(*ipam->Allocate(c->ranges[0], "a", "eth0"), "10.7.0.100");
  EXPECT_EQ(*ipam->Allocate(c->ranges[0], "b", "eth0"), "10.7.0.101");
  EXPECT_TRUE(absl::IsResourceExhausted(ipam->Allocate(c->ranges[0], "c", "eth0").status()));
  EXPECT_THAT(ParseBridgeConfig(R"({"name": "n", "ipam": {"ranges": [
      {"subnet": "10.7.0.0/24", "rangeStart": "10.8.0.1"}]}})")
                  .status()
                  .message(),
              HasSubstr("not in 10.7.0.0/24"));
  EXPECT_THAT(ParseBridgeConfig(R"({"name": "n", "ipam": {"ranges": [
      {"subnet": "10.7.0.0/24", "rangeStart": "10.7.0.9", "rangeEnd": "10.7.0.8"}]}})")
                  .status()
                  .message(),
              HasSubstr("after"));
  EXPECT_EQ(*OffsetIn("fd00::/64", "fd00::1:5"), 65541u);
}

TEST(BridgeIpam, TheLockSerialisesConcurrentCalls) {
  TempDir dir;
  AddressRange range{"10.9.0.0/24", "10.9.0.1"};
  std::vector<std::string> got(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      absl::StatusOr<AddressAllocator> ipam = AddressAllocator::Lock(dir.path(), "net");
      got[i] = ipam->Allocate(range, "pod-" + std::to_string(i), "eth0").value_or("");
    });
  }
  for (std::thread& t : threads) t.join();
  std::sort(got.begin(), got.end());
  EXPECT_EQ(std::unique(got.begin(), got.end()), got.end()) << "no address given twice";
  EXPECT_FALSE(got[0].empty());
}

}  // namespace
}  // namespace stockade::bridge

namespace stockade::bridge {
namespace {

BridgeConfig FreeBsdConfig() {
  absl::StatusOr<BridgeConfig> c = ParseBridgeConfig(R"({"name": "pods", "bridge": "stockade0",
      "mtu": 9000, "ipam": {"ranges": [{"subnet": "10.88.0.0/16"}]},
      "runtimeConfig": {"portMappings": [{"hostPort": 8080, "containerPort": 80}]}})");
  return *c;
}

TEST(FreeBsdBridgePlan, BridgeAndEpairCommands) {
  const BridgeConfig config = FreeBsdConfig();
  std::vector<Command> bridge = PlanFreeBsdBridge(config);
  EXPECT_EQ(bridge.front(), (Command{"ifconfig", "bridge", "create", "name", "stockade0"}));
  EXPECT_THAT(bridge, ::testing::Contains(
                          Command{"ifconfig", "stockade0", "inet", "10.88.0.1/16", "alias"}));
  const std::string id(64, 'c');
  const std::string host = EpairHostName(id, "eth0");
  EXPECT_EQ(host, HostVethName(id, "eth0") + "a");
  EXPECT_LE(host.size(), 15u);
  std::string peer = host;
  peer.back() = 'b';
  std::vector<Command> attach =
      PlanFreeBsdAttach(config, {"stk-cccccccccccc", id, "eth0", "epair7a", "10.88.0.5"});
  EXPECT_EQ(attach[0], (Command{"ifconfig", "epair7a", "name", host}));
  EXPECT_EQ(attach[1], (Command{"ifconfig", "epair7b", "name", peer}));
  EXPECT_THAT(attach, ::testing::Contains(Command{"ifconfig", "stockade0", "addm", host}));
  EXPECT_THAT(attach, ::testing::Contains(Command{"ifconfig", "stockade0", "hairpin", host}));
  EXPECT_THAT(attach, ::testing::Contains(Command{"ifconfig", peer, "vnet", "stk-cccccccccccc"}));
  EXPECT_THAT(attach, ::testing::Contains(
                          Command{"jexec", "stk-cccccccccccc", "ifconfig", peer, "name", "eth0"}));
  EXPECT_THAT(attach, ::testing::Contains(Command{"jexec", "stk-cccccccccccc", "ifconfig", "eth0",
                                                  "inet", "10.88.0.5/16", "mtu", "9000", "up"}));
  EXPECT_THAT(attach, ::testing::Contains(Command{"jexec", "stk-cccccccccccc", "route", "add",
                                                  "-inet", "default", "10.88.0.1"}));
  EXPECT_EQ(PlanFreeBsdDetach(id, "eth0"), (std::vector<Command>{{"ifconfig", host, "destroy"}}));
}

TEST(FreeBsdBridgePlan, PfAnchorRules) {
  const BridgeConfig config = FreeBsdConfig();
  EXPECT_EQ(PfAnchorName(std::string(64, 'c')), "stockade/cccccccccccc");
  EXPECT_EQ(PfAnchorRules(config, "10.88.0.5", "em0"),
            "nat on em0 inet from 10.88.0.5 to ! 10.88.0.0/16 -> (em0)\n"
            "rdr pass on ! stockade0 inet proto tcp to port 8080 -> 10.88.0.5 port 80\n");
  EXPECT_THAT(PfConfLines(), HasSubstr("rdr-anchor \"stockade/*\""));
}

TEST(BridgePlan, SubnetsAlreadyInTheSetsAreNotAddedAgain) {
  // As nft 1.0.6 prints the table: one set with a list wrapped over lines, one empty.
  const std::string listing =
      "table ip stockade {\n"
      "\tset pod_subnets {\n\t\ttype ipv4_addr\n\t\tflags interval\n"
      "\t\telements = { 10.88.0.0/16, 10.89.0.0/16,\n\t\t\t     10.90.0.0/24 }\n\t}\n\n"
      "\tset masq_subnets {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t}\n\n"
      "\tmap hostports {\n\t\ttype inet_proto . inet_service : ipv4_addr . inet_service\n"
      "\t\telements = { tcp . 80 : 10.91.0.0/16 . 80 }\n\t}\n}\n";
  EXPECT_THAT(NftSetElements(listing, "pod_subnets"),
              ElementsAre("10.88.0.0/16", "10.89.0.0/16", "10.90.0.0/24"));
  EXPECT_THAT(NftSetElements(listing, "masq_subnets"), IsEmpty());
  EXPECT_THAT(NftSetElements(listing, "nosuchset"), IsEmpty());
  EXPECT_THAT(NftSetElements("", "pod_subnets"), IsEmpty());
  // Known in pod_subnets, not yet masqueraded: only the masquerade element is added.
  EXPECT_THAT(NftAddSubnet("10.89.0.0/16", true, listing),
              ElementsAre("add element ip stockade masq_subnets { 10.89.0.0/16 }"));
  EXPECT_THAT(NftAddSubnet("10.89.0.0/16", false, listing), IsEmpty());
  // A prefix of a known element is not that element; nor is an element of another set.
  EXPECT_THAT(NftAddSubnet("10.90.0.0/2", false, listing),
              ElementsAre("add element ip stockade pod_subnets { 10.90.0.0/2 }"));
  EXPECT_THAT(NftAddSubnet("10.91.0.0/16", false, listing),
              ElementsAre("add element ip stockade pod_subnets { 10.91.0.0/16 }"));
  // A hostPort key another address still holds is taken over in the same transaction.
  const std::string maps =
      "\tmap hostports {\n\t\ttype inet_proto . inet_service : ipv4_addr . inet_service\n"
      "\t\telements = { tcp . 8080 : 10.88.0.9 . 80, tcp . 80800 : 10.88.0.7 . 80,\n"
      "\t\t\t     udp . 53 : 10.88.0.5 . 53 }\n\t}\n";
  EXPECT_THAT(NftMapElements(maps, "hostports"),
              ElementsAre("tcp . 8080 : 10.88.0.9 . 80", "tcp . 80800 : 10.88.0.7 . 80",
                          "udp . 53 : 10.88.0.5 . 53"));
  EXPECT_THAT(NftAddHostPorts({{8080, 80, "tcp", ""}, {53, 53, "udp", ""}, {9, 9, "tcp", ""}},
                              "10.88.0.5", maps),
              ElementsAre("delete element ip stockade hostports { tcp . 8080 }",
                          "add element ip stockade hostports { tcp . 8080 : 10.88.0.5 . 80 }",
                          "add element ip stockade hostports { udp . 53 : 10.88.0.5 . 53 }",
                          "add element ip stockade hostports { tcp . 9 : 10.88.0.5 . 9 }"));
  // No listing (a table just made): both.
  EXPECT_THAT(NftAddSubnet("fd88::/64", true),
              ElementsAre("add element ip6 stockade pod_subnets { fd88::/64 }",
                          "add element ip6 stockade masq_subnets { fd88::/64 }"));
}

}  // namespace
}  // namespace stockade::bridge
