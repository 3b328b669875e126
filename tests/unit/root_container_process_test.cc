// A container process for real: pod namespaces, its own mount and PID namespaces, pivot_root
// into a busybox rootfs, the pod's files, a volume, a non-root user, fewer capabilities.
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/capabilities.h"
#include "runtime/linux/container_process.h"
#include "runtime/linux/exec_session.h"
#include "runtime/linux/pod_namespaces.h"
#include "tests/support/files.h"
#include "tests/support/temp_dir.h"

namespace stockade {
namespace {

using ::testing::HasSubstr;

class RootContainerProcess : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "this test is labelled root and must run as root";
    ASSERT_TRUE(std::filesystem::exists("/bin/busybox")) << "needs Debian's busybox-static";
    rootfs_ = dir_.Sub("rootfs");
    std::filesystem::create_directories(rootfs_ + "/bin");
    std::filesystem::create_directories(rootfs_ + "/etc");
    std::filesystem::create_directories(rootfs_ + "/tmp");
    std::filesystem::copy_file("/bin/busybox", rootfs_ + "/bin/busybox");
    for (const char* tool : {"sh", "id", "hostname", "cat", "ls", "touch", "echo", "grep", "wc"}) {
      std::filesystem::create_symlink("busybox", rootfs_ + "/bin/" + tool);
    }
    std::ofstream(rootfs_ + "/etc/passwd")
        << "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/:/bin/sh\n";
    std::ofstream(dir_.Sub("hostname")) << "web-0\n";
    std::ofstream(dir_.Sub("resolv.conf")) << "nameserver 10.96.0.10\n";
    std::filesystem::create_directories(dir_.Sub("volume"));
    std::ofstream(dir_.Sub("volume/data.txt")) << "from the volume\n";
    PodNamespaceOptions pod;
    pod.pod_id = "ctr-test-pod";
    pod.hostname = "web-0";
    pod.netns_dir = dir_.Sub("netns");
    auto created = PodNamespaces::Create(pod);
    ASSERT_TRUE(created.ok()) << created.status();
    pod_ = *std::move(created);
  }

  // Runs `script` in the container; returns its exit code and leaves its output in `out_`.
  int Run(const std::string& script, ContainerProcessSpec spec) {
    spec.rootfs = rootfs_;
    spec.argv = {"/bin/sh", "-c", script};
    spec.env = {"PATH=/bin", "FOO=bar"};
    spec.net_ns = pod_->NamespacePath("net");
    spec.uts_ns = pod_->NamespacePath("uts");
    spec.ipc_ns = pod_->NamespacePath("ipc");
    spec.hostname_file = dir_.Sub("hostname");
    spec.resolv_conf_file = dir_.Sub("resolv.conf");
    const std::string log = dir_.Sub("out.txt");
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    spec.stdout_fd = fd;
    spec.stderr_fd = fd;
    absl::StatusOr<ContainerProcess> p = StartContainerProcess(spec);
    ::close(fd);
    EXPECT_TRUE(p.ok()) << p.status();
    if (!p.ok()) return -1;
    last_ = *p;
    int status = 0;
    ::waitpid(p->pid, &status, 0);
    out_ = testing::ReadFile(log);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  testing::TempDir dir_;
  std::string rootfs_;
  std::unique_ptr<PodNamespaces> pod_;
  std::string out_;
  ContainerProcess last_;
};

TEST_F(RootContainerProcess, RunsInsideItsRootWithThePodsIdentity) {
  ContainerProcessSpec spec;
  spec.uid = 1000;
  spec.gid = 1000;
  spec.additional_gids = {1000};
  spec.capabilities = *ResolveCapabilities({}, {}, false);
  spec.mounts = {{dir_.Sub("volume"), "/data", true, MountPropagation::kPrivate}};
  ASSERT_EQ(Run("id -u; hostname; cat /etc/hostname /etc/resolv.conf /data/data.txt; echo $FOO; "
                "echo pid=$$; ls /dev; touch /data/x 2>/dev/null || echo volume-ro; "
                "grep CapBnd /proc/self/status",
                spec),
            0)
      << out_;
  EXPECT_THAT(out_, HasSubstr("1000\nweb-0\nweb-0\nnameserver 10.96.0.10\nfrom the volume\nbar\n"));
  EXPECT_THAT(out_, HasSubstr("pid=1\n"));  // PID 1 of its own PID namespace
  for (const char* node : {"null", "zero", "urandom", "pts", "shm", "mqueue", "ptmx"}) {
    EXPECT_THAT(out_, HasSubstr(node));
  }
  EXPECT_THAT(out_, HasSubstr("volume-ro"));
  EXPECT_THAT(out_, HasSubstr("CapBnd:\t00000000a80425fb"));  // containerd's default set
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("volume/x")));
}

// On cgroup v2 the container is made in its cgroup (clone3 CLONE_INTO_CGROUP), not moved there
// (no write lock of the kernel's threadgroup rwsem, no RCU grace period). A cgroup2 hierarchy
// of its own (with no controllers) is mounted for the test; on v1 the cgroups are entered.
TEST_F(RootContainerProcess, OnCgroup2TheContainerIsMadeInItsCgroup) {
  const std::string hierarchy = dir_.Sub("cgroup2");
  std::filesystem::create_directories(hierarchy);
  ASSERT_EQ(::mount("none", hierarchy.c_str(), "cgroup2", 0, nullptr), 0) << std::strerror(errno);
  const std::string cgroup = absl::StrCat(hierarchy, "/stockade-test-", ::getpid());
  ASSERT_EQ(::mkdir(cgroup.c_str(), 0755), 0) << std::strerror(errno);
  absl::Cleanup unmount = [&] {
    ::rmdir(cgroup.c_str());
    ::umount2(hierarchy.c_str(), MNT_DETACH);
  };
  ContainerProcessSpec spec;
  spec.capabilities = *ResolveCapabilities({}, {}, false);
  spec.cgroup_procs_files = {cgroup + "/cgroup.procs"};
  ASSERT_EQ(Run("cat /proc/self/cgroup", spec), 0) << out_;
  EXPECT_TRUE(last_.born_in_cgroup);
  EXPECT_THAT(out_, HasSubstr(absl::StrCat("0::/stockade-test-", ::getpid(), "\n")));

  // An exec session's relay too, and its command with it.
  spec.argv = {"/bin/sh", "-c", "sleep 30"};
  spec.rootfs = rootfs_;
  spec.net_ns = pod_->NamespacePath("net");
  spec.uts_ns = pod_->NamespacePath("uts");
  spec.ipc_ns = pod_->NamespacePath("ipc");
  absl::StatusOr<ContainerProcess> running = StartContainerProcess(spec);
  ASSERT_TRUE(running.ok()) << running.status();
  ExecSessionSpec exec;
  exec.argv = {"/bin/cat", "/proc/self/cgroup"};
  exec.env = {"PATH=/bin"};
  exec.capabilities.assign(spec.capabilities.begin(), spec.capabilities.end());
  exec.cgroup_procs_files = spec.cgroup_procs_files;
  exec.container_pid = running->pid;
  const std::string exec_out = dir_.Sub("exec.txt");
  const int out_fd = ::open(exec_out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  exec.stdout_fd = out_fd;
  exec.stderr_fd = out_fd;
  absl::StatusOr<ExecRelay> relay = StartExecSession(exec);
  ::close(out_fd);
  ASSERT_TRUE(relay.ok()) << relay.status();
  int status = -1;
  ::waitpid(relay->pid, &status, 0);
  ::kill(running->pid, SIGKILL);
  ::waitpid(running->pid, nullptr, 0);
  EXPECT_TRUE(relay->born_in_cgroup);
  EXPECT_EQ(status, 0) << ExecSessionFailure(relay->report.get()).value_or("");
  EXPECT_THAT(testing::ReadFile(exec_out),
              HasSubstr(absl::StrCat("0::/stockade-test-", ::getpid(), "\n")));

  // A v1 hierarchy, or several: entered by the child itself.
  const std::string v1 = dir_.Sub("v1-procs");
  std::ofstream(v1) << "";
  spec.cgroup_procs_files = {v1};
  ASSERT_EQ(Run("true", spec), 0) << out_;
  EXPECT_FALSE(last_.born_in_cgroup);
}

TEST_F(RootContainerProcess, ReadOnlyRootfsAndExitCodes) {
  ContainerProcessSpec spec;
  spec.read_only_rootfs = true;
  spec.capabilities = *ResolveCapabilities({}, {}, false);
  EXPECT_EQ(Run("touch /newfile", spec), 1) << out_;
  EXPECT_FALSE(std::filesystem::exists(rootfs_ + "/newfile"));
  spec.read_only_rootfs = false;
  EXPECT_EQ(Run("echo out; echo err >&2; exit 3", spec), 3);
  EXPECT_EQ(out_, "out\nerr\n");
}

TEST_F(RootContainerProcess, MaskedAndReadOnlyPathsAsKubeletSendsThem) {
  ContainerProcessSpec spec;
  spec.capabilities = *ResolveCapabilities({}, {}, false);
  std::ofstream(rootfs_ + "/etc/secret") << "top secret\n";
  std::filesystem::create_directories(rootfs_ + "/secretdir");
  std::ofstream(rootfs_ + "/secretdir/key") << "k\n";
  // Paths of the kind kubelet sends (Docker's defaults), and ones the container lacks.
  spec.masked_paths = {"/etc/secret", "/secretdir", "/sys/firmware", "/proc/kcore", "/no/such"};
  spec.readonly_paths = {"/proc/sys", "/proc/sysrq-trigger", "/no/such/dir"};
  ASSERT_EQ(Run("cat /etc/secret | wc -c; ls /secretdir | wc -l; ls /sys/firmware | wc -l; "
                "(echo 1 > /proc/sys/kernel/domainname) 2>/dev/null && echo writable || echo ro",
                spec),
            0)
      << out_;
  EXPECT_EQ(out_, "0\n0\n0\nro\n");
  EXPECT_EQ(testing::ReadFile(rootfs_ + "/etc/secret"), "top secret\n");  // hidden, not changed
}

TEST_F(RootContainerProcess, AMissingCommandIsReportedWithTheStep) {
  ContainerProcessSpec spec;
  spec.rootfs = rootfs_;
  spec.argv = {"/bin/does-not-exist"};
  absl::StatusOr<ContainerProcess> p = StartContainerProcess(spec);
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("exec the command"));
}

}  // namespace
}  // namespace stockade
