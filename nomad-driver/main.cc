// nomad-driver-stockade: a Nomad task-driver plugin, started by the Nomad client from its
// plugin_dir through hashicorp/go-plugin. Checks the cookie, listens on a unix socket, prints
// the handshake line, serves until GRPCController/Shutdown or SIGTERM; tasks outlive it.
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "nomad-driver/driver_service.h"
#include "nomad-driver/go_plugin.h"
#include "nomad-driver/plugin_runtime.h"
#include "nomad-driver/plugin_services.h"

#ifndef STOCKADE_VERSION
#define STOCKADE_VERSION "0.0.0"
#endif

extern char** environ;

namespace stockade::nomad {
namespace {

std::map<std::string, std::string> Environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (eq != nullptr) env[std::string(*e, static_cast<size_t>(eq - *e))] = eq + 1;
  }
  return env;
}

// The temporary dir SocketPath made, if it made one.
std::string made_socket_dir;

// A fresh socket path: in PLUGIN_UNIX_SOCKET_DIR when the host gave one (as go-plugin names
// it, "plugin" and random digits), else in a new private temporary dir.
absl::StatusOr<std::string> SocketPath(const PluginLaunch& launch) {
  std::string dir = launch.socket_dir;
  if (dir.empty()) {
    // go-plugin's own servers put the socket straight in TMPDIR; a private dir is safer, and
    // it goes with the socket at exit.
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = absl::StrCat(tmp != nullptr && *tmp ? tmp : "/tmp", "/plugin-XXXXXX");
    if (::mkdtemp(pattern.data()) == nullptr) {
      return absl::InternalError(absl::StrCat("mkdtemp ", pattern, ": ", std::strerror(errno)));
    }
    dir = pattern;
    made_socket_dir = dir;
  }
  std::string file = absl::StrCat(dir, "/pluginXXXXXX");
  const int fd = ::mkstemp(file.data());
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("make a socket in ", dir, ": ", std::strerror(errno)));
  }
  ::close(fd);
  ::unlink(file.c_str());
  return file;
}

void SetSocketGroup(const std::string& path, const std::string& group) {
  if (group.empty()) return;
  gid_t gid = 0;
  if (const struct group* g = ::getgrnam(group.c_str()); g != nullptr) {
    gid = g->gr_gid;
  } else {
    gid = static_cast<gid_t>(std::strtoul(group.c_str(), nullptr, 10));
  }
  if (::chown(path.c_str(), static_cast<uid_t>(-1), gid) != 0 || ::chmod(path.c_str(), 0660) != 0) {
    Log(LogLevel::kWarn, "cannot give the socket its group",
        {{"group", group}, {"error", std::strerror(errno)}});
  }
}

int Run() {
  ::signal(SIGINT, SIG_IGN);  // the host's terminal's ^C is the host's to handle
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &term, nullptr);  // before any thread: only sigtimedwait sees it

  absl::StatusOr<PluginLaunch> launch = CheckPluginEnvironment(Environment());
  if (!launch.ok()) {
    std::cerr << launch.status().message() << "\n";
    return 1;
  }
  const char* level_name = std::getenv("STOCKADE_LOG_LEVEL");
  absl::StatusOr<LogLevel> level = ParseLogLevel(level_name != nullptr ? level_name : "info");
  ConfigureLogging(level.ok() ? *level : LogLevel::kInfo, LogFormat::kHclog);

  absl::StatusOr<std::string> socket = SocketPath(*launch);
  if (!socket.ok()) {
    Log(LogLevel::kError, "cannot start", {{"error", std::string(socket.status().message())}});
    return 1;
  }
  PluginRuntime plugin(STOCKADE_VERSION);
  absl::Notification shutdown;
  BasePluginService base(plugin);
  DriverService driver(plugin);
  ControllerService controller([&shutdown] {
    if (!shutdown.HasBeenNotified()) shutdown.Notify();
  });
  StdioService stdio;
  BrokerService broker;

  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat("unix:", *socket), grpc::InsecureServerCredentials());
  builder.SetMaxReceiveMessageSize(INT_MAX);
  builder.SetMaxSendMessageSize(INT_MAX);
  builder.RegisterService(&base);
  builder.RegisterService(&driver);
  builder.RegisterService(&controller);
  builder.RegisterService(&stdio);
  builder.RegisterService(&broker);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) {
    Log(LogLevel::kError, "cannot listen", {{"socket", *socket}});
    return 1;
  }
  server->GetHealthCheckService()->SetServingStatus("plugin", true);
  SetSocketGroup(*socket, launch->socket_group);

  // The host reads exactly this line; what follows on stdout is discarded.
  std::fputs(HandshakeLine(launch->app_protocol, *socket).c_str(), stdout);
  std::fflush(stdout);
  Log(LogLevel::kDebug, "plugin serving", {{"socket", *socket}, {"version", STOCKADE_VERSION}});

  const timespec tick{0, 200 * 1000 * 1000};
  while (!shutdown.HasBeenNotified()) {
    if (::sigtimedwait(&term, nullptr, &tick) == SIGTERM) break;
  }
  Log(LogLevel::kInfo, "plugin shutting down; tasks keep running");
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  ::unlink(socket->c_str());
  if (!made_socket_dir.empty()) ::rmdir(made_socket_dir.c_str());
  // No destructors: they would wait on streams and threads, and the host gives 2 s at most.
  // Every record was written synchronously when it was made.
  std::fflush(nullptr);
  ::_exit(0);
}

}  // namespace
}  // namespace stockade::nomad

int main(int argc, char** argv) {
  if (argc > 1 && (std::strcmp(argv[1], "--version") == 0 || std::strcmp(argv[1], "-v") == 0)) {
    std::cout << "nomad-driver-stockade " << STOCKADE_VERSION << "\n";
    return 0;
  }
  return stockade::nomad::Run();
}
