// What Nomad's plugin loader does with nomad-driver-stockade, for the integration tests: spawn
// the binary with the magic cookie, the protocol versions and a socket dir; read the handshake
// line; dial the socket; hand out stubs of every service. Killed when the test forgets.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "go-plugin/grpc_controller.grpc.pb.h"
#include "grpcpp/channel.h"
#include "plugins/base/proto/base.grpc.pb.h"
#include "plugins/drivers/proto/driver.grpc.pb.h"

namespace stockade::testing {

// Path of the nomad-driver-stockade binary under test (set by CMake).
std::string NomadDriverPath();

class PluginProcess {
 public:
  // `socket_dir` becomes PLUGIN_UNIX_SOCKET_DIR; `stderr_path` receives the log lines.
  PluginProcess(std::string socket_dir, std::string stderr_path);
  ~PluginProcess();

  // Spawns the plugin with `env` over the loader's own variables (empty value: unset) and
  // waits for the handshake line; false (with the reason in `error`) when none comes.
  bool Start(const std::map<std::string, std::string>& env = {}, std::string* error = nullptr,
             absl::Duration timeout = absl::Seconds(20));
  // The handshake line, without its newline.
  const std::string& handshake() const { return handshake_; }
  const std::string& socket_path() const { return socket_path_; }
  pid_t pid() const { return pid_; }
  // Waits for the process to end; its exit code, or -1 for a signal or the timeout.
  int Wait(absl::Duration timeout);
  void Kill(int signal);
  std::string Stderr() const;

  std::shared_ptr<grpc::Channel> Channel();
  std::unique_ptr<hashicorp::nomad::plugins::base::proto::BasePlugin::Stub> Base();
  std::unique_ptr<hashicorp::nomad::plugins::drivers::proto::Driver::Stub> Driver();
  std::unique_ptr<plugin::GRPCController::Stub> Controller();

 private:
  std::string socket_dir_, stderr_path_;
  std::string handshake_, socket_path_;
  pid_t pid_ = -1;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace stockade::testing
