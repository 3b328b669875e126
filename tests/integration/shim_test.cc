// The real stockade-shim binary: holds a pod, runs containers in it, writes CRI logs and exit
// records, answers one JSON line per request on its socket.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "runtime/shim/exit_record.h"
#include "runtime/shim_client.h"
#include "tests/support/daemon_process.h"
#include "tests/support/files.h"

namespace stockade::testing {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

class ShimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "the shim test needs root (namespaces, mounts)";
    rootfs_ = dir_.Sub("rootfs");
    std::filesystem::create_directories(rootfs_ + "/bin");
    std::filesystem::create_directories(rootfs_ + "/etc");
    std::filesystem::copy_file("/bin/busybox", rootfs_ + "/bin/busybox");
    for (const char* tool : {"sh", "echo", "sleep", "hostname"}) {
      std::filesystem::create_symlink("busybox", rootfs_ + "/bin/" + tool);
    }
    int out[2];
    ASSERT_EQ(::pipe(out), 0);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::execl(STOCKADE_SHIM_PATH, "stockade-shim", "--pod-id", "shim-test-pod", "--dir",
              dir_.path().c_str(), "--hostname", "pod-a", "--netns-dir", dir_.Sub("netns").c_str(),
              nullptr);
      ::_exit(127);
    }
    ::close(out[1]);
    char line[128] = {};
    ssize_t n = ::read(out[0], line, sizeof(line) - 1);
    ::close(out[0]);
    ASSERT_GT(n, 0);
    ASSERT_THAT(std::string(line), HasSubstr("ready")) << line;
  }
  void TearDown() override {
    if (pid_ > 0) {
      Request({{"op", "shutdown"}});
      int status = 0;
      WaitFor([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, absl::Seconds(10));
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
      EXPECT_FALSE(std::filesystem::exists(dir_.Sub("netns/shim-test-pod")));
    }
  }

  Json Request(const Json& req) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    dir_.Sub("shim.sock").copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ::close(fd);
      return Json();
    }
    const std::string line = req.dump() + "\n";
    ::write(fd, line.data(), line.size());
    std::string reply;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof(buf))) > 0) reply.append(buf, static_cast<size_t>(n));
    ::close(fd);
    return Json::parse(reply, nullptr, false);
  }

  Json Start(const std::string& id, const std::string& script) {
    return Request({{"op", "start"},
                    {"id", id},
                    {"log_path", dir_.Sub(id + ".log")},
                    {"spec",
                     {{"rootfs", rootfs_},
                      {"argv", {"/bin/sh", "-c", script}},
                      {"env", {"PATH=/bin"}},
                      {"caps", {0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31}}}}});
  }

  bool WaitExited(const std::string& id) {
    return WaitFor(
        [&] {
          return Request({{"op", "state"}, {"id", id}}).value("running", true) == false;
        },
        absl::Seconds(10));
  }

  TempDir dir_;
  std::string rootfs_;
  pid_t pid_ = -1;
};

TEST_F(ShimTest, RunsAContainerWritesCriLogsAndRecordsTheExit) {
  Json started = Start("c1", "echo hello from $(hostname); echo oops >&2; exit 3");
  ASSERT_TRUE(started.value("ok", false)) << started.dump();
  ASSERT_TRUE(WaitExited("c1"));
  Json state = Request({{"op", "state"}, {"id", "c1"}});
  EXPECT_EQ(state["exit"]["exit_code"], 3);
  absl::StatusOr<ExitRecord> record = ReadExitRecord(dir_.Sub("c1.exit"));
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->exit_code, 3);
  const std::string log = ReadFile(dir_.Sub("c1.log"));
  EXPECT_THAT(log, HasSubstr(" stdout F hello from pod-a\n"));
  EXPECT_THAT(log, HasSubstr(" stderr F oops\n"));
  EXPECT_THAT(log,
              ::testing::MatchesRegex(
                  "([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{9}Z std(out|err) F [^\n]*\n)+"));
}

TEST_F(ShimTest, SignalsReachTheContainerAsTheyWouldPidOne) {
  // PID 1 of a PID namespace ignores signals it has no handler for, SIGKILL aside: SIGTERM to a
  // bare `sleep` does nothing (StopContainer then escalates to SIGKILL after its timeout).
  ASSERT_TRUE(Start("sleeper", "exec sleep 600").value("ok", false));
  EXPECT_TRUE(Request({{"op", "kill"}, {"id", "sleeper"}, {"signal", SIGTERM}}).value("ok", false));
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_TRUE(Request({{"op", "state"}, {"id", "sleeper"}}).value("running", false));
  EXPECT_TRUE(Request({{"op", "kill"}, {"id", "sleeper"}, {"signal", SIGKILL}}).value("ok", false));
  ASSERT_TRUE(WaitExited("sleeper"));
  absl::StatusOr<ExitRecord> killed = ReadExitRecord(dir_.Sub("sleeper.exit"));
  ASSERT_TRUE(killed.ok());
  EXPECT_EQ(killed->signal, SIGKILL);
  EXPECT_EQ(killed->exit_code, 128 + SIGKILL);

  // A process that handles SIGTERM gets it and exits its own way.
  ASSERT_TRUE(
      Start("graceful", "trap 'exit 7' TERM; while true; do sleep 0.1; done").value("ok", false));
  absl::SleepFor(absl::Milliseconds(200));  // let the shell install its trap
  EXPECT_TRUE(
      Request({{"op", "kill"}, {"id", "graceful"}, {"signal", SIGTERM}}).value("ok", false));
  ASSERT_TRUE(WaitExited("graceful"));
  EXPECT_EQ(ReadExitRecord(dir_.Sub("graceful.exit"))->exit_code, 7);
}

TEST_F(ShimTest, BadRequestsGetClearErrors) {
  EXPECT_THAT(Request({{"op", "state"}, {"id", "nope"}}).value("error", ""),
              HasSubstr("no container"));
  EXPECT_THAT(Request({{"op", "dance"}}).value("error", ""), HasSubstr("unknown op"));
  Json bad = Start("c2", "true");
  ASSERT_TRUE(bad.value("ok", false));
  EXPECT_THAT(Start("c2", "true").value("error", ""), HasSubstr("exists"));
  Json missing = Request({{"op", "start"},
                          {"id", "c3"},
                          {"log_path", dir_.Sub("c3.log")},
                          {"spec", {{"rootfs", rootfs_}, {"argv", {"/bin/nothing"}}}}});
  EXPECT_FALSE(missing.value("ok", true));
  EXPECT_THAT(missing.value("error", ""), HasSubstr("exec the command"));
}

TEST(ShimClientTest, LaunchesTalksReconnectsAndShutsDown) {
  ASSERT_EQ(::geteuid(), 0u);
  TempDir dir;
  const std::string rootfs = dir.Sub("rootfs");
  std::filesystem::create_directories(rootfs + "/bin");
  std::filesystem::copy_file("/bin/busybox", rootfs + "/bin/busybox");
  std::filesystem::create_symlink("busybox", rootfs + "/bin/sh");
  ShimLaunch launch{STOCKADE_SHIM_PATH, "client-pod", dir.path(), "pod-b", dir.Sub("netns"), false};
  absl::StatusOr<std::unique_ptr<ShimClient>> shim = ShimClient::Launch(launch, absl::Seconds(10));
  ASSERT_TRUE(shim.ok()) << shim.status();
  ShimContainerSpec spec;
  spec.rootfs = rootfs;
  spec.process.argv = {"/bin/sh", "-c", "echo from the client; exit 4"};
  spec.process.env = {"PATH=/bin"};
  absl::StatusOr<pid_t> pid = (*shim)->StartContainer("c1", dir.Sub("c1.log"), spec);
  ASSERT_TRUE(pid.ok()) << pid.status();
  EXPECT_GT(*pid, 0);
  EXPECT_EQ((*shim)->StartContainer("c1", dir.Sub("c1.log"), spec).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ((*shim)->State("nope").status().code(), absl::StatusCode::kNotFound);

  // As after a daemon restart: a new client for the same shim sees the same containers.
  absl::StatusOr<std::unique_ptr<ShimClient>> again = ShimClient::Connect(dir.path());
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_TRUE(WaitFor([&] { return !(*again)->State("c1")->running; }, absl::Seconds(10)));
  EXPECT_EQ((*again)->State("c1")->exit_code, 4);
  EXPECT_THAT(ReadFile(dir.Sub("c1.log")), HasSubstr(" stdout F from the client\n"));
  EXPECT_TRUE((*again)->ReopenLog("c1").ok());

  ASSERT_TRUE((*again)->Shutdown().ok());
  EXPECT_TRUE(WaitFor([&] { return !ShimClient::Connect(dir.path()).ok(); }, absl::Seconds(10)));
  EXPECT_EQ(ShimClient::Connect(dir.path()).status().code(), absl::StatusCode::kUnavailable);
}

TEST(ShimClientTest, AShimThatCannotStartSaysWhy) {
  TempDir dir;
  ShimLaunch launch{STOCKADE_SHIM_PATH, "../bad", dir.path(), "", dir.Sub("netns"), false};
  absl::StatusOr<std::unique_ptr<ShimClient>> shim = ShimClient::Launch(launch, absl::Seconds(10));
  EXPECT_EQ(shim.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(shim.status().message()), HasSubstr("pod id"));
}

// A shim that detaches and then never says ready is killed at the deadline, with what it
// started (its process group), not left holding the pod's namespaces.
TEST(ShimClientTest, AShimThatNeverBecomesReadyIsKilledAtTheDeadline) {
  TempDir dir;
  const std::string fake = dir.Sub("stuck-shim");
  std::ofstream(fake) << "#!/bin/sh\n"
                      << "setsid sh -c 'echo $$ > " << dir.Sub("pid")
                      << "; echo \"pid $$\"; exec sleep 60' &\n"
                      << "exit 0\n";
  std::filesystem::permissions(fake, std::filesystem::perms::owner_all);
  ShimLaunch launch{fake, "stuck-pod", dir.path(), "", dir.Sub("netns"), false};
  absl::StatusOr<std::unique_ptr<ShimClient>> shim =
      ShimClient::Launch(launch, absl::Milliseconds(500));
  EXPECT_EQ(shim.status().code(), absl::StatusCode::kDeadlineExceeded) << shim.status();
  const pid_t pid = std::stoi(ReadFile(dir.Sub("pid")));
  ASSERT_GT(pid, 1);
  // Gone, or a zombie waiting for whoever reaps orphans here.
  bool ended = false;
  for (int i = 0; i < 200 && !ended; ++i) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string pid_field, comm, state;
    ended = !(stat >> pid_field >> comm >> state) || state == "Z";
    if (!ended) ::usleep(10000);
  }
  EXPECT_TRUE(ended) << "pid " << pid << " still runs";
  if (!ended) ::kill(pid, SIGKILL);
}

}  // namespace
}  // namespace stockade::testing
