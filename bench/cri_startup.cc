// Starts a CRI runtime, for any endpoint: runs the given command (in its own session), calls
// Version on the socket until it answers, prints "<pid> <exec->answer ms> <runtime version>"
// and exits, leaving the daemon running for bench/startup.sh to measure and stop.
//
// usage: cri_startup --socket PATH -- CMD ARGS...
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "runtime/v1/api.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string socket;
  std::vector<std::string> command;
};

pid_t Spawn(const std::vector<std::string>& command) {
  std::vector<char*> argv;
  for (const std::string& a : command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    setsid();
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 0);
    dup2(devnull, 1);
    dup2(devnull, 2);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

bool VersionAnswers(const std::string& socket, std::string* name) {
  auto channel = grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials());
  auto stub = runtime::v1::RuntimeService::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
  runtime::v1::VersionResponse resp;
  if (!stub->Version(&ctx, runtime::v1::VersionRequest(), &resp).ok()) return false;
  *name = resp.runtime_name() + " " + resp.runtime_version();
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  int i = 1;
  for (; i < argc && std::strcmp(argv[i], "--") != 0; ++i) {
    std::string a = argv[i];
    std::string v = i + 1 < argc ? argv[i + 1] : "";
    if (a == "--socket") {
      o.socket = v;
      ++i;
    } else {
      std::cerr << "unknown argument " << a << "\n";
      return 2;
    }
  }
  for (++i; i < argc; ++i) o.command.push_back(argv[i]);
  if (o.socket.empty() || o.command.empty()) {
    std::cerr << "usage: cri_startup --socket PATH -- CMD ARGS...\n";
    return 2;
  }
  unlink(o.socket.c_str());
  const auto start = Clock::now();
  pid_t pid = Spawn(o.command);
  std::string version;
  while (Clock::now() - start < std::chrono::seconds(30)) {
    if (VersionAnswers(o.socket, &version)) {
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      // The daemon keeps running; the caller measures it once this process (and the gRPC
      // libraries it maps, which would otherwise count in the daemon's RSS) is gone.
      std::printf("%d %.1f %s\n", pid, ms, version.c_str());
      return 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::cerr << "no Version answer on " << o.socket << " within 30 s\n";
  kill(pid, SIGKILL);
  return 1;
}
