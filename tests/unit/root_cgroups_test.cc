// Cgroups on the real host (this machine: v1 controllers), including a real OOM kill.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/linux/cgroups.h"
#include "tests/support/temp_dir.h"

namespace stockade {
namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

class RootCgroupsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "this test is labelled root and must run as root";
    cgroups_ = LinuxCgroups::Detect();
    parent_ = "stockade-test-" + std::to_string(::getpid());
  }
  void TearDown() override {
    for (const std::string& p : created_) cgroups_->Remove(p).IgnoreError();
    cgroups_->Remove(parent_).IgnoreError();
  }
  std::string Make(const std::string& leaf) {
    const std::string path = parent_ + "/" + leaf;
    EXPECT_TRUE(cgroups_->Create(path).ok());
    created_.push_back(path);
    return path;
  }
  std::string File(const std::string& controller, const std::string& path,
                   const std::string& file) {
    return cgroups_->version() == CgroupVersion::kV1
               ? "/sys/fs/cgroup/" + controller + "/" + path + "/" + file
               : "/sys/fs/cgroup/" + path + "/" + file;
  }

  std::unique_ptr<LinuxCgroups> cgroups_;
  std::string parent_;
  std::vector<std::string> created_;
};

TEST_F(RootCgroupsTest, LimitsAreWrittenAndProcessesJoin) {
  const std::string path = Make("limits");
  ResourceLimits limits;
  limits.cpu_shares = 512;
  limits.cpu_quota_us = 50000;
  limits.cpu_period_us = 100000;
  limits.memory_limit_bytes = 64 << 20;
  limits.pids_limit = 64;
  limits.cpuset_cpus = "0";
  absl::Status applied = cgroups_->Apply(path, limits);
  ASSERT_TRUE(applied.ok()) << applied;
  if (cgroups_->version() == CgroupVersion::kV1) {
    EXPECT_EQ(Read(File("cpu", path, "cpu.shares")), "512");
    EXPECT_EQ(Read(File("cpu", path, "cpu.cfs_quota_us")), "50000");
    EXPECT_EQ(Read(File("memory", path, "memory.limit_in_bytes")), "67108864");
    EXPECT_EQ(Read(File("pids", path, "pids.max")), "64");
    EXPECT_EQ(Read(File("cpuset", path, "cpuset.cpus")), "0");
  } else {
    EXPECT_EQ(Read(File("", path, "memory.max")), "67108864");
    EXPECT_EQ(Read(File("", path, "cpu.max")), "50000 100000");
  }
  pid_t child = ::fork();
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  ASSERT_TRUE(cgroups_->AddProcess(path, child).ok());
  EXPECT_THAT(Read("/proc/" + std::to_string(child) + "/cgroup"), ::testing::HasSubstr(path));
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_TRUE(cgroups_->Remove(path).ok());
  EXPECT_TRUE(cgroups_->Remove(path).ok());  // gone already: fine
}

// What a container's process does before anything else: "0" to each of ProcsFiles (v1: each
// hierarchy's `tasks`, which moves the writing thread without the global lock that a write to
// cgroup.procs takes). The whole, single-threaded process is then in every hierarchy.
TEST_F(RootCgroupsTest, ANewProcessEntersByItsProcsFiles) {
  const std::string path = Make("self");
  ASSERT_TRUE(cgroups_->Apply(path, {}).ok());
  const std::vector<std::string> files = cgroups_->ProcsFiles(path);
  ASSERT_FALSE(files.empty());
  for (const std::string& f : files) {
    EXPECT_TRUE(
        absl::EndsWith(f, cgroups_->version() == CgroupVersion::kV1 ? "/tasks" : "/cgroup.procs"))
        << f;
  }
  int done[2];
  ASSERT_EQ(::pipe(done), 0);
  pid_t child = ::fork();
  if (child == 0) {
    char ok = 'y';
    for (const std::string& f : files) {
      const int fd = ::open(f.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0 || ::write(fd, "0", 1) != 1) ok = 'n';
    }
    (void)!::write(done[1], &ok, 1);
    ::pause();
    ::_exit(0);
  }
  char ok = 0;
  ASSERT_EQ(::read(done[0], &ok, 1), 1);
  EXPECT_EQ(ok, 'y');
  const std::string membership = Read("/proc/" + std::to_string(child) + "/cgroup");
  // Every hierarchy's line names the cgroup: cpu, memory, pids and cpuset on v1, "0::" on v2.
  size_t lines_with_path = 0;
  for (absl::string_view line : absl::StrSplit(membership, '\n')) {
    if (absl::EndsWith(line, "/" + path)) ++lines_with_path;
  }
  EXPECT_GE(lines_with_path, cgroups_->version() == CgroupVersion::kV1 ? 4u : 1u) << membership;
  EXPECT_EQ(
      Read(File(cgroups_->version() == CgroupVersion::kV1 ? "pids" : "", path, "cgroup.procs")),
      std::to_string(child));
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ::close(done[0]);
  ::close(done[1]);
}

TEST_F(RootCgroupsTest, AnOverAllocatingProcessIsOomKilledAndCounted) {
  const std::string path = Make("oom");
  ResourceLimits limits;
  limits.memory_limit_bytes = 32 << 20;
  ASSERT_TRUE(cgroups_->Apply(path, limits).ok());
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  pid_t child = ::fork();
  if (child == 0) {
    char c;
    ::read(go[0], &c, 1);  // wait until the parent moved us into the cgroup
    for (int i = 0; i < 64; ++i) {
      char* block = static_cast<char*>(::malloc(8 << 20));
      if (block != nullptr) std::memset(block, 1, 8 << 20);  // touch: really allocate
    }
    ::_exit(0);
  }
  ASSERT_TRUE(cgroups_->AddProcess(path, child).ok());
  ASSERT_EQ(::write(go[1], "x", 1), 1);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  absl::StatusOr<int64_t> kills = cgroups_->OomKills(path);
  ASSERT_TRUE(kills.ok()) << kills.status();
  EXPECT_GE(*kills, 1);
  ::close(go[0]);
  ::close(go[1]);
}

// cgroup v2 hands a child only the controllers its parent enables: every level made gets them.
// On a fake v2 tree (this host may be v1), where the files are plain files.
TEST(CgroupsV2, EveryLevelEnablesTheControllersForTheNext) {
  testing::TempDir dir;
  const std::string root = dir.Sub("cgroup");
  for (const std::string& d : {root, root + "/kubepods.slice"}) {
    std::filesystem::create_directories(d);
    std::ofstream(d + "/cgroup.controllers") << "cpuset cpu io memory pids\n";
    std::ofstream(d + "/cgroup.subtree_control") << (d == root ? "cpu\n" : "");
  }
  std::unique_ptr<LinuxCgroups> cgroups = LinuxCgroups::Detect(root);
  ASSERT_EQ(cgroups->version(), CgroupVersion::kV2);
  // The next level's files, as the kernel would make them when the directory is created.
  std::filesystem::create_directories(root + "/kubepods.slice/pod1");
  std::ofstream(root + "/kubepods.slice/pod1/cgroup.controllers") << "cpu memory pids\n";
  std::ofstream(root + "/kubepods.slice/pod1/cgroup.subtree_control") << "";
  ASSERT_TRUE(cgroups->Create("kubepods.slice/pod1/ctr-1").ok());
  EXPECT_TRUE(std::filesystem::is_directory(root + "/kubepods.slice/pod1/ctr-1"));
  auto read = [](const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  EXPECT_EQ(read(root + "/cgroup.subtree_control"), "+cpuset +io +memory +pids");
  EXPECT_EQ(read(root + "/kubepods.slice/cgroup.subtree_control"),
            "+cpuset +cpu +io +memory +pids");
  EXPECT_EQ(read(root + "/kubepods.slice/pod1/cgroup.subtree_control"), "+cpu +memory +pids");
}

}  // namespace
}  // namespace stockade
