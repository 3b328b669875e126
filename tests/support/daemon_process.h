// Runs the real stockaded binary for integration tests: its own temp socket, state and run
// dirs and CNI config dir, stderr captured to a file, killed if a test forgets to stop it.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "tests/support/temp_dir.h"

namespace stockade::testing {

// Path of the stockaded binary under test (set by CMake).
std::string StockadedPath();

// The result of a process that ran to completion.
struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string stderr_text;
  std::string stdout_text;
};

// Runs `args` to completion (stdin closed), capturing both streams.
ProcessResult RunToCompletion(const std::vector<std::string>& args, absl::Duration timeout);

class DaemonProcess {
 public:
  // Lays out the directories under `root`; does not start anything.
  explicit DaemonProcess(const std::string& root);
  ~DaemonProcess();

  std::string socket_path;
  std::string state_dir;
  std::string run_dir;
  std::string cni_conf_dir;
  std::vector<std::string> cni_bin_dirs = {"/usr/lib/cni"};  // Debian's plugins
  std::string config_path;                                   // written by Start from `config_yaml`
  std::string config_yaml;  // extra top-level YAML keys appended to the generated config
  std::vector<std::string> extra_args;  // appended to the command line
  std::vector<std::string> extra_env;   // "NAME=value" added to the daemon's environment

  // Starts stockaded and waits until the socket accepts connections.
  bool Start(absl::Duration timeout = absl::Seconds(20));
  // Sends `signal` and waits for exit; returns the exit code (-1 on signal death/timeout).
  int Stop(int signal, absl::Duration timeout = absl::Seconds(20));
  pid_t pid() const { return pid_; }
  std::string Stderr() const;
  std::shared_ptr<grpc::Channel> Channel() const;

 private:
  std::string stderr_path_;
  pid_t pid_ = -1;
};

// A plain HTTP/1.0 GET to host:port; returns the whole response ("" on failure).
std::string HttpGet(const std::string& host_port, const std::string& path);

// Polls `condition` every 10 ms until it holds or `timeout` passes.
template <typename Condition>
bool WaitFor(Condition condition, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (condition()) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return condition();
}

}  // namespace stockade::testing
