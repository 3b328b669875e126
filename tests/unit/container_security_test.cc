// Capabilities and resolv.conf of a container, by containerd's rules.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/capabilities.h"
#include "runtime/resolv_conf.h"

namespace stockade {
namespace {

using ::testing::HasSubstr;

std::set<std::string> Names(const std::set<int>& caps) {
  std::set<std::string> out;
  for (int c : caps) out.insert(CapabilityName(c));
  return out;
}

TEST(Capabilities, DefaultSetIsContainerds) {
  absl::StatusOr<std::set<int>> caps = ResolveCapabilities({}, {}, false);
  ASSERT_TRUE(caps.ok());
  EXPECT_EQ(Names(*caps),
            (std::set<std::string>{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER",
                                   "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID",
                                   "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
                                   "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}));
}

TEST(Capabilities, AddDropAllAndCase) {
  absl::StatusOr<std::set<int>> caps =
      ResolveCapabilities({"net_admin", "CAP_SYS_TIME"}, {"NET_RAW", "cap_mknod"}, false);
  ASSERT_TRUE(caps.ok());
  std::set<std::string> names = Names(*caps);
  EXPECT_TRUE(names.count("CAP_NET_ADMIN") && names.count("CAP_SYS_TIME"));
  EXPECT_FALSE(names.count("CAP_NET_RAW") || names.count("CAP_MKNOD"));
  EXPECT_EQ(ResolveCapabilities({"ALL"}, {}, false)->size(), 41u);
  EXPECT_EQ(ResolveCapabilities({"ALL"}, {"SYS_ADMIN"}, false)->size(), 40u);
  EXPECT_EQ(Names(*ResolveCapabilities({"NET_ADMIN"}, {"all"}, false)),
            (std::set<std::string>{"CAP_NET_ADMIN"}));
  EXPECT_EQ(ResolveCapabilities({}, {"ALL"}, /*privileged=*/true)->size(), 41u);
  absl::StatusOr<std::set<int>> bad = ResolveCapabilities({"FLY"}, {}, false);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("FLY"));
}

TEST(ResolvConf, FromTheDnsConfigOrTheNodesFile) {
  EXPECT_EQ(*BuildResolvConf({}, "nameserver 10.0.0.1\n"), "nameserver 10.0.0.1\n");
  DnsSettings dns{
      {"10.96.0.10", "fd00::a"}, {"ns.svc.cluster.local", "cluster.local"}, {"ndots:5"}};
  EXPECT_EQ(*BuildResolvConf(dns, "ignored"),
            "search ns.svc.cluster.local cluster.local\nnameserver 10.96.0.10\n"
            "nameserver fd00::a\noptions ndots:5\n");
  DnsSettings only_search{{}, {"example.test"}, {}};
  EXPECT_EQ(*BuildResolvConf(only_search, "x"), "search example.test\n");
}

TEST(ResolvConf, InjectionAndNonAddressesAreRefused) {
  EXPECT_EQ(BuildResolvConf({{"dns.example"}, {}, {}}, "").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BuildResolvConf({{}, {"a\nnameserver 6.6.6.6"}, {}}, "").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BuildResolvConf({{}, {}, {"ndots:5 # x"}}, "").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace stockade
