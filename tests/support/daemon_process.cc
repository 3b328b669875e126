#include "tests/support/daemon_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace stockade::testing {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool SocketAccepts(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

pid_t Spawn(const std::vector<std::string>& args, const std::string& stdout_path,
            const std::string& stderr_path, const std::vector<std::string>& env = {}) {
  std::vector<std::string> env_copy = env;
  // Everything that allocates happens before fork: the test process has gRPC threads.
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  int devnull = ::open("/dev/null", O_RDONLY);
  int out = ::open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  int err = ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ::dup2(devnull, 0);
  ::dup2(out, 1);
  ::dup2(err, 2);
  // Unblock everything the test runner may have blocked: the daemon sets its own mask.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (std::string& e : env_copy) ::putenv(e.data());
  ::execv(argv[0], argv.data());
  ::_exit(127);
}

// Waits for `pid` until `timeout`; returns the exit code, -1 on signal death, -2 on timeout.
int WaitExit(pid_t pid, absl::Duration timeout) {
  int status = 0;
  bool exited = WaitFor([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, timeout);
  if (!exited) return -2;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

std::string StockadedPath() { return STOCKADED_PATH; }

ProcessResult RunToCompletion(const std::vector<std::string>& args, absl::Duration timeout) {
  TempDir dir;
  pid_t pid = Spawn(args, dir.Sub("out"), dir.Sub("err"));
  ProcessResult r;
  r.exit_code = WaitExit(pid, timeout);
  if (r.exit_code == -2) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  r.stdout_text = ReadFile(dir.Sub("out"));
  r.stderr_text = ReadFile(dir.Sub("err"));
  return r;
}

DaemonProcess::DaemonProcess(const std::string& root)
    : socket_path(root + "/run/stockade.sock"),
      state_dir(root + "/state"),
      run_dir(root + "/run"),
      cni_conf_dir(root + "/net.d"),
      config_path(root + "/config.yaml"),
      stderr_path_(root + "/stockaded.stderr") {
  std::filesystem::create_directories(cni_conf_dir);
}

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

bool DaemonProcess::Start(absl::Duration timeout) {
  std::string bin_dirs;
  for (const std::string& d : cni_bin_dirs) bin_dirs += (bin_dirs.empty() ? "" : ", ") + d;
  std::ofstream(config_path) << "cni:\n  conf_dir: " << cni_conf_dir << "\n  bin_dirs: ["
                             << bin_dirs << "]\nmetrics:\n  address: \"127.0.0.1:0\"\n"
                             << config_yaml;
  std::vector<std::string> args = {StockadedPath(), "--config",    config_path, "--socket",
                                   socket_path,     "--state-dir", state_dir,   "--run-dir",
                                   run_dir,         "--log-level", "debug"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  pid_ = Spawn(args, "/dev/null", stderr_path_, extra_env);
  return WaitFor(
             [&] {
               return SocketAccepts(socket_path) || ::waitpid(pid_, nullptr, WNOHANG) == pid_;
             },
             timeout) &&
         SocketAccepts(socket_path);
}

int DaemonProcess::Stop(int signal, absl::Duration timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, signal);
  int code = WaitExit(pid_, timeout);
  if (code == -2) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    code = -1;
  }
  pid_ = -1;
  // STOCKADE_TEST_VERBOSE=1 shows each daemon's log when it stops, for debugging a test.
  if (const char* v = std::getenv("STOCKADE_TEST_VERBOSE"); v != nullptr && *v == '1') {
    std::cerr << "--- stockaded stderr (" << stderr_path_ << ") ---\n" << Stderr();
  }
  return code;
}

std::string DaemonProcess::Stderr() const { return ReadFile(stderr_path_); }

std::shared_ptr<grpc::Channel> DaemonProcess::Channel() const {
  return grpc::CreateChannel("unix:" + socket_path, grpc::InsecureChannelCredentials());
}

std::string HttpGet(const std::string& host_port, const std::string& path) {
  const size_t colon = host_port.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(host_port.substr(colon + 1), &port)) {
    return "";
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, host_port.substr(0, colon).c_str(), &addr.sin_addr);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request = "GET " + path + " HTTP/1.0\r\nHost: " + host_port + "\r\n\r\n";
    if (::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buf[8192];
      ssize_t n;
      while ((n = ::read(fd, buf, sizeof(buf))) > 0) response.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return response;
}

}  // namespace stockade::testing
