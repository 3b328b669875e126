// The FreeBSD backend's portable plans for limits, stats, mounts and devices: racct parsing,
// resource scopes, nmount options, teardown order and devfs rulesets.
#include "gmock/gmock.h"
#include "runtime/freebsd/devfs_plan.h"
#include "runtime/freebsd/kernel_features.h"
#include "runtime/freebsd/mount_calls.h"
#include "runtime/freebsd/racct.h"
#include "runtime/freebsd/zfs_plan.h"

namespace stockade::freebsd {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

TEST(Racct, ParsesTheKernelsOutputIntoUsage) {
  // rctl_get_racct's buffer for a jail, as the kernel writes it (NUL-terminated).
  const std::string text(
      "cputime=3,datasize=4096,stacksize=0,coredumpsize=0,memoryuse=10485760,memorylocked=0,"
      "maxproc=4,openfiles=21,vmemoryuse=20971520,pseudoterminals=0,swapuse=0,nthr=5,"
      "msgqqueued=0,msgqsize=0,nmsgq=0,nsem=0,nsemop=0,nshm=0,shmsize=0,wallclock=60,pcpu=2,"
      "readbps=0,writebps=0,readiops=0,writeiops=0");
  const std::string with_nul = text + std::string(1, '\0');
  absl::StatusOr<std::map<std::string, int64_t>> racct = ParseRacct(with_nul);
  ASSERT_TRUE(racct.ok()) << racct.status();
  EXPECT_EQ(racct->at("openfiles"), 21);
  const ScopeUsage u = UsageFromRacct(*racct);
  EXPECT_EQ(u.cpu_usage_ns, 3000000000u);
  EXPECT_EQ(u.memory_usage_bytes, 10485760u);
  EXPECT_EQ(u.memory_working_set_bytes, 10485760u);
  EXPECT_EQ(u.process_count, 4u);
  EXPECT_EQ(u.cpu_nano_cores, 20'000'000u);  // pcpu=2: 2 % of one CPU
  EXPECT_FALSE(UsageFromRacct({{"cputime", 1}}).cpu_nano_cores.has_value());
  EXPECT_EQ(ParseRacct("cputime=x").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRacct("=3").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ParseRacct("").ok());
}

TEST(Racct, TheOperatorIsToldHowToTurnAccountingOn) {
  absl::Status s = RacctDisabledError("rctl add jail:x:memoryuse:deny=1");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()), HasSubstr("kern.racct.enable=1"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("/boot/loader.conf"));
}

TEST(Racct, ScopesNameTheirJails) {
  const std::string pod(64, 'a'), ctr(64, 'b');
  absl::StatusOr<ScopeJail> p = ParseScope("stockade/pod-" + pod);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->pod_id, pod);
  EXPECT_TRUE(p->container_id.empty());
  absl::StatusOr<ScopeJail> c = ParseScope("stockade/pod-" + pod + "/ctr-" + ctr);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->pod_id, pod);
  EXPECT_EQ(c->container_id, ctr);
  absl::StatusOr<ScopeJail> under_kubelet = ParseScope("kubepods/burstable/pod1/ctr-" + ctr);
  ASSERT_TRUE(under_kubelet.ok());
  EXPECT_TRUE(under_kubelet->pod_id.empty());
  EXPECT_FALSE(ParseScope("kubepods/burstable").ok());
  EXPECT_EQ(RctlJailFilter("stk-aaaa"), "jail:stk-aaaa:");
}

TEST(MountPlan, NmountOptionsAreWhatMountAndItsHelpersPass) {
  EXPECT_THAT(NmountOptions({"nullfs", "/srv/data", "/j/root/data", {"ro"}}),
              ElementsAre(Pair("fstype", "nullfs"), Pair("fspath", "/j/root/data"),
                          Pair("target", "/srv/data"), Pair("ro", "")));
  EXPECT_THAT(NmountOptions({"devfs", "devfs", "/j/root/dev", {"ruleset=1042"}}),
              ElementsAre(Pair("fstype", "devfs"), Pair("fspath", "/j/root/dev"),
                          Pair("from", "devfs"), Pair("ruleset", "1042")));
  EXPECT_THAT(NmountOptions({"tmpfs", "", "/j/root/dev/shm", {"mode=1777"}}),
              ElementsAre(Pair("fstype", "tmpfs"), Pair("fspath", "/j/root/dev/shm"),
                          Pair("from", "tmpfs"), Pair("mode", "1777")));
}

TEST(MountPlan, TeardownGoesDeepestFirstAndNeverPastTheRoot) {
  const std::vector<std::string> node = {"/",
                                         "/var/run/stockade/c1/rootfs",
                                         "/var/run/stockade/c1/rootfs/dev",
                                         "/var/run/stockade/c1/rootfs/dev/fd",
                                         "/var/run/stockade/c1/rootfs/data",
                                         "/var/run/stockade/c10/rootfs",
                                         "/dev"};
  EXPECT_THAT(MountsToUnmount(node, "/var/run/stockade/c1/rootfs/"),
              ElementsAre("/var/run/stockade/c1/rootfs/dev/fd", "/var/run/stockade/c1/rootfs/dev",
                          "/var/run/stockade/c1/rootfs/data", "/var/run/stockade/c1/rootfs"));
  EXPECT_TRUE(MountsToUnmount(node, "/").empty());
}

TEST(DevfsPlan, UnhidesExactlyTheRequestedNodes) {
  absl::StatusOr<DevfsPlan> plan =
      PlanDevfsRuleset(4, {{"/dev/nvidia0", "", "rw"}, {"/dev/dri/card0", "/dev/card0", "r"}});
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(DevfsRuleLines(1042, *plan),
              ElementsAre("devfs rule -s 1042 add 100 include 4",
                          "devfs rule -s 1042 add 200 path 'nvidia0' unhide mode 0666",
                          "devfs rule -s 1042 add 300 path 'dri/card0' unhide mode 0444",
                          "devfs rule -s 1042 add 301 path 'dri' unhide"));
  ASSERT_EQ(plan->symlinks.size(), 1u);
  EXPECT_EQ(plan->symlinks[0].link, "card0");
  EXPECT_EQ(plan->symlinks[0].target, "dri/card0");
}

TEST(DevfsPlan, RefusesWhatDevfsCannotExpose) {
  EXPECT_THAT(std::string(PlanDevfsRuleset(4, {{"/etc/passwd", "", "r"}}).status().message()),
              HasSubstr("must be a node under /dev"));
  EXPECT_THAT(std::string(PlanDevfsRuleset(4, {{"/dev/da*", "", "r"}}).status().message()),
              HasSubstr("without glob characters"));
  EXPECT_THAT(std::string(PlanDevfsRuleset(4, {{"/dev/../etc", "", "r"}}).status().message()),
              HasSubstr("must be a node under /dev"));
  EXPECT_THAT(std::string(PlanDevfsRuleset(4, {{"/dev/null", "", "rx"}}).status().message()),
              HasSubstr("are not r, w, m"));
  const uint16_t n = ContainerRulesetNumber(std::string(64, 'c'));
  EXPECT_GE(n, kFirstContainerRuleset);
  EXPECT_EQ(n, ContainerRulesetNumber(std::string(64, 'c')));
  EXPECT_NE(n, ContainerRulesetNumber(std::string(64, 'd')));
}

TEST(KernelFeatures, EveryMissingPieceIsNamedWithItsFix) {
  KernelFeatures all;
  all.vimage = all.racct = all.if_bridge = all.if_epair = all.pf = all.pf_enabled = true;
  all.linux64 = all.linprocfs = all.linsysfs = all.fdescfs = all.nullfs = true;
  EXPECT_TRUE(CheckKernelFeatures(all, {true, true, true}).ok());

  KernelFeatures bare = all;
  bare.vimage = false;
  bare.racct = false;
  bare.pf_enabled = false;
  bare.linux64 = false;
  absl::Status s = CheckKernelFeatures(bare, {true, true, true});
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()), HasSubstr("options VIMAGE"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("kern.racct.enable=1"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("pfctl -e"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("kldload linux64"));
  // Host-network pods without limits and FreeBSD images need none of those.
  EXPECT_TRUE(CheckKernelFeatures(bare, {false, false, false}).ok());
  EXPECT_THAT(std::string(LinuxAbiMissingError("docker.io/library/alpine:3").message()),
              HasSubstr("kldload linux64"));
}

TEST(KernelFeatures, StatusConditionsNameWhatSomePodsLackAndTheFix) {
  KernelFeatures have;
  have.vimage = have.if_bridge = have.if_epair = have.pf = have.pf_enabled = true;
  have.fdescfs = have.nullfs = true;
  // RACCT off, no Linux ABI: pod networking is whole, the other two are false with their fix.
  const std::vector<NodeCondition> c = KernelConditions(have);
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].type, "stockade.io/PodNetworking");
  EXPECT_TRUE(c[0].status);
  EXPECT_EQ(c[0].reason, "");
  EXPECT_EQ(c[1].type, "stockade.io/ResourceAccounting");
  EXPECT_FALSE(c[1].status);
  EXPECT_EQ(c[1].reason, "RacctDisabled");
  EXPECT_THAT(c[1].message, HasSubstr("kern.racct.enable=1 in /boot/loader.conf"));
  EXPECT_THAT(c[1].message, ::testing::Not(HasSubstr("linux64")));
  EXPECT_EQ(c[2].reason, "LinuxAbiNotLoaded");
  EXPECT_THAT(c[2].message, HasSubstr("kldload linux64"));
  // What the daemon itself needs is its start-up error, not a condition.
  EXPECT_TRUE(CheckDaemonKernel(have).ok());
  have.nullfs = false;
  EXPECT_THAT(std::string(CheckDaemonKernel(have).message()), HasSubstr("kldload nullfs"));
  EXPECT_TRUE(KernelConditions(have)[0].status);
}

TEST(ZfsPlan, ChainsOfLayersAndAClonePerContainer) {
  const std::vector<std::string> layers = {"/var/db/stockade/layers/aaa",
                                           "/var/db/stockade/layers/bbb"};
  const std::string base = LayerChainDataset("zroot/stockade", layers, 1);
  const std::string top = LayerChainDataset("zroot/stockade", layers, 2);
  EXPECT_NE(base, top);
  // SHA-256 of the chain's layer dirs, one per line (as sha256sum computes it).
  EXPECT_EQ(base, "zroot/stockade/layers/a425856e02dbc6f4d9d68a155c76aed7");
  // An image on the same base shares its first chain.
  EXPECT_EQ(LayerChainDataset("zroot/stockade", {layers[0], "/other"}, 1), base);
  EXPECT_THAT(PlanChainCreate("zroot/stockade", layers, 1, "/var/db/stockade/zfs/x"),
              ElementsAre("zfs", "create", "-p", "-o", "mountpoint=/var/db/stockade/zfs/x", "-o",
                          "canmount=on", base));
  EXPECT_THAT(PlanChainCreate("zroot/stockade", layers, 2, "/m"),
              ElementsAre("zfs", "clone", "-p", "-o", "mountpoint=/m", base + "@ready", top));
  EXPECT_EQ(PlanChainSeal(top).back(), (ZfsCommand{"zfs", "snapshot", top + "@ready"}));
  EXPECT_THAT(PlanContainerClone("zroot/stockade", layers, "c1", "/run/c1/rootfs"),
              ElementsAre("zfs", "clone", "-p", "-o", "mountpoint=/run/c1/rootfs", "-o",
                          "readonly=off", top + "@ready", "zroot/stockade/containers/c1"));
  EXPECT_THAT(PlanContainerDestroy("zroot/stockade", "c1"),
              ElementsAre("zfs", "destroy", "-r", "-f", "zroot/stockade/containers/c1"));
  EXPECT_TRUE(CheckDatasetName("zroot/stockade").ok());
  EXPECT_FALSE(CheckDatasetName("/zroot").ok());
  EXPECT_FALSE(CheckDatasetName("zroot/a@b").ok());
}

}  // namespace
}  // namespace stockade::freebsd
