// A pod's namespaces on the real kernel: lo up, its own host name, a bind-mounted netns.
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "runtime/linux/pod_namespaces.h"
#include "tests/support/temp_dir.h"

namespace stockade {
namespace {

// Runs `check` in a child that joined the namespace at `ns_path`; returns its exit code.
template <typename Check>
int InNamespace(const std::string& ns_path, int nstype, Check check) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(ns_path.c_str(), O_RDONLY);
    if (fd < 0 || ::setns(fd, nstype) != 0) ::_exit(100);
    ::_exit(check());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

ino_t Inode(const std::string& path) {
  struct stat st {};
  ::stat(path.c_str(), &st);
  return st.st_ino;
}

TEST(RootPodNamespaces, HolderKeepsNetUtsIpcWithLoUpAndTheHostName) {
  ASSERT_EQ(::geteuid(), 0u) << "this test is labelled root and must run as root";
  testing::TempDir dir;
  PodNamespaceOptions options;
  options.pod_id = "pod-under-test";
  options.hostname = "web-0";
  options.netns_dir = dir.Sub("netns");
  absl::StatusOr<std::unique_ptr<PodNamespaces>> pod = PodNamespaces::Create(options);
  ASSERT_TRUE(pod.ok()) << pod.status();
  const std::string netns = (*pod)->netns_path();
  EXPECT_EQ(netns, dir.Sub("netns/pod-under-test"));
  // The bind mount is the holder's namespace, not ours.
  EXPECT_EQ(Inode(netns), Inode((*pod)->NamespacePath("net")));
  EXPECT_NE(Inode(netns), Inode("/proc/self/ns/net"));
  EXPECT_NE(Inode((*pod)->NamespacePath("ipc")), Inode("/proc/self/ns/ipc"));

  EXPECT_EQ(InNamespace(netns, CLONE_NEWNET,
                        [] {
                          int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
                          struct ifreq ifr {};
                          std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
                          if (::ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) return 1;
                          if ((ifr.ifr_flags & IFF_UP) == 0) return 2;
                          // Nothing but lo in a fresh pod network.
                          struct if_nameindex* names = ::if_nameindex();
                          int count = 0;
                          for (auto* n = names; n->if_index != 0; ++n) ++count;
                          return count == 1 ? 0 : 3;
                        }),
            0);
  EXPECT_EQ(InNamespace((*pod)->NamespacePath("uts"), CLONE_NEWUTS,
                        [] {
                          char name[65] = {};
                          ::gethostname(name, sizeof(name) - 1);
                          return std::string(name) == "web-0" ? 0 : 1;
                        }),
            0);

  const pid_t holder = (*pod)->holder_pid();
  ASSERT_TRUE((*pod)->Destroy().ok());
  EXPECT_FALSE(std::filesystem::exists(netns));
  EXPECT_NE(::kill(holder, 0), 0);
  EXPECT_TRUE((*pod)->Destroy().ok());
}

TEST(RootPodNamespaces, HostNetworkPodsGetNoNetns) {
  testing::TempDir dir;
  PodNamespaceOptions options;
  options.pod_id = "host-net";
  options.new_network = false;
  options.netns_dir = dir.Sub("netns");
  absl::StatusOr<std::unique_ptr<PodNamespaces>> pod = PodNamespaces::Create(options);
  ASSERT_TRUE(pod.ok()) << pod.status();
  EXPECT_TRUE((*pod)->netns_path().empty());
  EXPECT_EQ(Inode((*pod)->NamespacePath("net")), Inode("/proc/self/ns/net"));
}

TEST(RootPodNamespaces, BadInputLeavesNothing) {
  testing::TempDir dir;
  PodNamespaceOptions options;
  options.pod_id = "x";
  options.hostname = std::string(65, 'h');
  options.netns_dir = dir.Sub("netns");
  EXPECT_EQ(PodNamespaces::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.hostname = "ok";
  options.pod_id = "../escape";
  EXPECT_EQ(PodNamespaces::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("netns")));
}

}  // namespace
}  // namespace stockade
