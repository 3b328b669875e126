// The FreeBSD backend's plans, checked here on Linux: they are plain data.
#include "runtime/freebsd/jail_plan.h"

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace stockade::freebsd {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kPod = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string kCtr = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

TEST(JailPlan, NamesMakeTheContainerAChildOfThePod) {
  EXPECT_EQ(PodJailName(kPod), "stk-0123456789ab");
  EXPECT_EQ(ContainerJailName(kPod, kCtr), "stk-0123456789ab.fedcba987654");
}

TEST(JailPlan, PodJailIsAPersistentVnetJailWithItsOwnIpc) {
  PodJailSpec spec;
  spec.pod_id = kPod;
  spec.hostname = "web-0";
  absl::StatusOr<std::vector<JailParam>> params = PlanPodJail(spec, JailPlanOptions{});
  ASSERT_TRUE(params.ok()) << params.status();
  EXPECT_THAT(*params, Contains(JailParam{"name", "stk-0123456789ab"}));
  EXPECT_THAT(*params, Contains(JailParam{"persist", "true"}));
  EXPECT_THAT(*params, Contains(JailParam{"vnet", "new"}));
  EXPECT_THAT(*params, Contains(JailParam{"host.hostname", "web-0"}));
  EXPECT_THAT(*params, Contains(JailParam{"children.max", "64"}));
  EXPECT_THAT(*params, Contains(JailParam{"enforce_statfs", "1"}));
  EXPECT_THAT(*params, Contains(JailParam{"devfs_ruleset", "4"}));
  EXPECT_THAT(*params, Contains(JailParam{"allow.mount.devfs", "true"}));
  EXPECT_THAT(*params, Contains(JailParam{"sysvshm", "new"}));
}

TEST(JailPlan, HostNetworkPodsInheritTheHostStack) {
  PodJailSpec spec;
  spec.pod_id = kPod;
  spec.host_network = true;
  spec.share_ipc_with_host = true;
  absl::StatusOr<std::vector<JailParam>> params = PlanPodJail(spec, JailPlanOptions{});
  ASSERT_TRUE(params.ok());
  EXPECT_THAT(*params, Contains(JailParam{"vnet", "inherit"}));
  EXPECT_THAT(*params, Contains(JailParam{"sysvmsg", "inherit"}));
  EXPECT_THAT(*params, Not(Contains(::testing::Field(&JailParam::name, "host.hostname"))));
}

TEST(JailPlan, PodInputsAreValidated) {
  PodJailSpec spec;
  spec.pod_id = "not-hex";
  EXPECT_EQ(PlanPodJail(spec, {}).status().code(), absl::StatusCode::kInvalidArgument);
  spec.pod_id = kPod;
  spec.hostname = std::string(256, 'h');
  EXPECT_THAT(std::string(PlanPodJail(spec, {}).status().message()), HasSubstr("host.hostname"));
  spec.hostname = "ok";
  spec.sysctls = {{"net.ipv4.ip_forward", "1"}};
  EXPECT_THAT(std::string(PlanPodJail(spec, {}).status().message()),
              HasSubstr("net.ipv4.ip_forward cannot be set"));
  spec.sysctls = {{"net.inet.tcp.msl", "10000"}};
  EXPECT_TRUE(PlanPodJail(spec, {}).ok());
}

TEST(JailPlan, ContainerJailInheritsThePodAndRootsAtItsRootfs) {
  ContainerJailSpec spec;
  spec.pod_id = kPod;
  spec.container_id = kCtr;
  spec.rootfs = "/var/db/stockade/snapshots/c1/rootfs";
  spec.linux_image = true;
  absl::StatusOr<std::vector<JailParam>> params = PlanContainerJail(spec, JailPlanOptions{});
  ASSERT_TRUE(params.ok()) << params.status();
  EXPECT_THAT(*params, Contains(JailParam{"name", "stk-0123456789ab.fedcba987654"}));
  EXPECT_THAT(*params, Contains(JailParam{"path", spec.rootfs}));
  EXPECT_THAT(*params, Contains(JailParam{"vnet", "inherit"}));
  EXPECT_THAT(*params, Contains(JailParam{"host", "inherit"}));
  EXPECT_THAT(*params, Contains(JailParam{"children.max", "0"}));
  EXPECT_THAT(*params, Contains(JailParam{"linux", "new"}));
  EXPECT_THAT(*params, Not(Contains(JailParam{"allow.mount", "true"})));
  spec.privileged = true;
  EXPECT_THAT(*PlanContainerJail(spec, {}), Contains(JailParam{"allow.mount", "true"}));
  spec.rootfs = "relative";
  EXPECT_FALSE(PlanContainerJail(spec, {}).ok());
}

TEST(JailPlan, MountPlanForALinuxImageWithVolumes) {
  ContainerJailSpec spec;
  spec.pod_id = kPod;
  spec.container_id = kCtr;
  spec.rootfs = "/r/";
  spec.linux_image = true;
  spec.mounts = {{"/srv/data", "/data/./x", true, MountPropagation::kPrivate},
                 {"/srv/cache", "/cache", false, MountPropagation::kHostToContainer}};
  absl::StatusOr<std::vector<MountStep>> steps = PlanContainerMounts(spec, JailPlanOptions{});
  ASSERT_TRUE(steps.ok()) << steps.status();
  EXPECT_THAT(*steps, ElementsAre(MountStep{"devfs", "devfs", "/r/dev", {"ruleset=4"}},
                                  MountStep{"fdescfs", "fdescfs", "/r/dev/fd", {}},
                                  MountStep{"linprocfs", "linprocfs", "/r/proc", {}},
                                  MountStep{"linsysfs", "linsysfs", "/r/sys", {}},
                                  MountStep{"tmpfs", "tmpfs", "/r/dev/shm", {"mode=1777"}},
                                  MountStep{"nullfs", "/srv/data", "/r/data/x", {"ro"}},
                                  MountStep{"nullfs", "/srv/cache", "/r/cache", {}}));
}

TEST(JailPlan, VolumesCannotEscapeTheRootfs) {
  ContainerJailSpec spec;
  spec.pod_id = kPod;
  spec.container_id = kCtr;
  spec.rootfs = "/r";
  for (const VolumeMount& bad :
       {VolumeMount{"/srv", "/../etc", false, {}}, VolumeMount{"/srv", "relative", false, {}},
        VolumeMount{"relative", "/x", false, {}}, VolumeMount{"/srv", "/", false, {}}}) {
    spec.mounts = {bad};
    EXPECT_EQ(PlanContainerMounts(spec, {}).status().code(), absl::StatusCode::kInvalidArgument)
        << bad.container_path;
  }
}

// The image's links are resolved inside its rootfs, as on Linux: a volume or /dev whose
// path in the image leads to the node's /etc lands on the rootfs's own.
TEST(JailPlan, MountTargetsFollowTheImagesLinksInsideTheRootfs) {
  testing::TempDir dir;
  const std::string root = dir.Sub("rootfs");
  std::filesystem::create_directories(root + "/etc");
  std::filesystem::create_symlink("/etc", root + "/data");
  std::filesystem::create_symlink("../../../../..", root + "/dev");
  ContainerJailSpec spec;
  spec.pod_id = kPod;
  spec.container_id = kCtr;
  spec.rootfs = root;
  spec.mounts = {{"/srv/data", "/data/conf", false, MountPropagation::kPrivate}};
  absl::StatusOr<std::vector<MountStep>> steps = PlanContainerMounts(spec, JailPlanOptions{});
  ASSERT_TRUE(steps.ok()) << steps.status();
  EXPECT_EQ(steps->at(0).target, root);  // "/dev" -> ".." x5, which stops at the rootfs
  EXPECT_EQ(steps->at(1).target, root + "/fd");
  EXPECT_EQ(steps->back().target, root + "/etc/conf");
}

TEST(JailPlan, RctlRulesFromCriResources) {
  ResourceLimits limits;
  limits.memory_limit_bytes = 256 << 20;
  limits.cpu_quota_us = 150000;
  limits.cpu_period_us = 100000;
  limits.cpu_shares = 512;  // no rctl form
  limits.pids_limit = 100;
  EXPECT_THAT(
      PlanRctlRules("stk-0123456789ab", limits),
      ElementsAre("jail:stk-0123456789ab:memoryuse:deny=268435456",
                  "jail:stk-0123456789ab:pcpu:deny=150", "jail:stk-0123456789ab:maxproc:deny=100"));
  limits = {};
  limits.cpu_quota_us = 1;
  limits.cpu_period_us = 100000;
  EXPECT_THAT(PlanRctlRules("j", limits), ElementsAre("jail:j:pcpu:deny=1"));  // rounded up
  EXPECT_TRUE(PlanRctlRules("j", ResourceLimits{}).empty());
}

}  // namespace
}  // namespace stockade::freebsd
