#include "tests/support/nomad_plugin.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "grpcpp/create_channel.h"

extern char** environ;

namespace stockade::testing {

std::string NomadDriverPath() { return NOMAD_DRIVER_PATH; }

PluginProcess::PluginProcess(std::string socket_dir, std::string stderr_path)
    : socket_dir_(std::move(socket_dir)), stderr_path_(std::move(stderr_path)) {}

PluginProcess::~PluginProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

bool PluginProcess::Start(const std::map<std::string, std::string>& overrides, std::string* error,
                          absl::Duration timeout) {
  auto fail = [&](const std::string& why) {
    if (error != nullptr) *error = why;
    return false;
  };
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (eq != nullptr) env[std::string(*e, static_cast<size_t>(eq - *e))] = eq + 1;
  }
  env["NOMAD_PLUGIN_MAGIC_COOKIE"] =
      "e4327c2e01eabfd75a8a67adb114fb34a757d57eee7728d857a8cec6e91a7255";
  env["PLUGIN_PROTOCOL_VERSIONS"] = "2";
  env["PLUGIN_UNIX_SOCKET_DIR"] = socket_dir_;
  env["STOCKADE_LOG_LEVEL"] = "debug";
  for (const auto& [k, v] : overrides) {
    if (v.empty()) {
      env.erase(k);
    } else {
      env[k] = v;
    }
  }
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(absl::StrCat(k, "=", v));
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return fail("pipe");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_addopen(&actions, 2, stderr_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  std::string path = NomadDriverPath();
  char* argv[] = {path.data(), nullptr};
  const int rc = ::posix_spawn(&pid_, path.c_str(), &actions, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    pid_ = -1;
    return fail(absl::StrCat("spawn ", path, ": ", std::strerror(rc)));
  }
  // The first line on stdout; the process may also end first (a refused cookie).
  std::string line;
  const absl::Time deadline = absl::Now() + timeout;
  while (line.find('\n') == std::string::npos && absl::Now() < deadline) {
    pollfd p{out[0], POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[512];
    const ssize_t n = ::read(out[0], buf, sizeof(buf));
    if (n <= 0) break;
    line.append(buf, static_cast<size_t>(n));
  }
  ::close(out[0]);
  if (line.find('\n') == std::string::npos) return fail("no handshake line: " + Stderr());
  handshake_ = line.substr(0, line.find('\n'));
  std::vector<std::string> parts = absl::StrSplit(handshake_, '|');
  if (parts.size() != 5) return fail("malformed handshake line: " + handshake_);
  socket_path_ = parts[3];
  channel_.reset();
  return true;
}

int PluginProcess::Wait(absl::Duration timeout) {
  if (pid_ <= 0) return -1;
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  return -1;
}

void PluginProcess::Kill(int signal) {
  if (pid_ > 0) ::kill(pid_, signal);
}

std::string PluginProcess::Stderr() const {
  std::ifstream in(stderr_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::shared_ptr<grpc::Channel> PluginProcess::Channel() {
  if (channel_ == nullptr) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(INT_MAX);
    channel_ = grpc::CreateCustomChannel(absl::StrCat("unix:", socket_path_),
                                         grpc::InsecureChannelCredentials(), args);
  }
  return channel_;
}

std::unique_ptr<hashicorp::nomad::plugins::base::proto::BasePlugin::Stub> PluginProcess::Base() {
  return hashicorp::nomad::plugins::base::proto::BasePlugin::NewStub(Channel());
}

std::unique_ptr<hashicorp::nomad::plugins::drivers::proto::Driver::Stub> PluginProcess::Driver() {
  return hashicorp::nomad::plugins::drivers::proto::Driver::NewStub(Channel());
}

std::unique_ptr<plugin::GRPCController::Stub> PluginProcess::Controller() {
  return plugin::GRPCController::NewStub(Channel());
}

}  // namespace stockade::testing
