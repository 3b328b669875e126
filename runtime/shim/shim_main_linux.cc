// stockade-shim on Linux: one per pod. Holds the pod's namespaces, is the subreaper of its
// containers, owns their stdout/stderr and writes them to the CRI log files, records every exit in
// `<dir>/<container>.exit`, and keeps running when stockaded dies. No gRPC, no protobuf: the
// daemon talks to it with one JSON line per request on `<dir>/shim.sock`:
//   {"op":"start","id":ID,"log_path":P,"spec":{...}}  -> {"ok":true,"pid":N}
//   {"op":"kill","id":ID,"signal":N}                    -> {"ok":true}
//   {"op":"state","id":ID}                              -> {"ok":true,"running":B,"exit":{...}}
//   {"op":"reopen","id":ID}                             -> {"ok":true}
//   {"op":"forget","id":ID}                             -> {"ok":true} (an ended container)
//   {"op":"exec","id":ID,"spec":{...},"timeout_ms":N}   -> {"ok":true,"exit_code":N,
//       + SCM_RIGHTS: the command's [stdin,] stdout,       "timed_out":B} when it has ended;
//         stderr; with "tty":true none: the shim makes    with a terminal, first one byte
//         a terminal in the container's devpts             carrying its master (SCM_RIGHTS)
//                                                          closing the connection kills it
//   {"op":"attach","id":ID}                          -> {"ok":true} when the attachment ends
//       + SCM_RIGHTS: stdin (read end), stdout, stderr    (container exit, or detach); closing
//         (write ends); the daemon's -1s are /dev/null    the connection detaches
//   {"op":"resize","id":ID,"width":W,"height":H}       -> {"ok":true} (a TTY container's)
//   {"op":"shutdown"}                                   -> {"ok":true} once every process of
//                                                          the pod has ended; then it exits
// usage: stockade-shim --pod-id ID --dir DIR [--hostname H] [--netns-dir D] [--host-network]
//                      [--host-ipc] [--pod-pid] [--sysctl KEY=VALUE]... [--detach]
// --detach: the shim forks at once and its first process exits, so whoever spawned it (the
// daemon, with posix_spawn: no copy of the daemon's address space is made) reaps only that
// one, and the shim lives on re-parented, in a session of its own. It then prints "pid <pid>"
// before "ready ..." or "error ...", so that a spawner that gives up can kill its group.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/startup_memory.h"
#include "common/unique_fd.h"
#include "runtime/linux/pod_namespaces.h"
#include "runtime/shim/shim_platform_linux.h"
#include "runtime/shim/shim_server.h"

namespace stockade {
namespace {

int Usage() {
  std::fprintf(stderr,
               "usage: stockade-shim --pod-id ID --dir DIR [--hostname H] [--netns-dir D] "
               "[--host-network] [--host-ipc] [--pod-pid] [--sysctl KEY=VALUE]... [--detach]\n");
  return 2;
}

}  // namespace
}  // namespace stockade

int main(int argc, char** argv) {
  using namespace stockade;
  PodNamespaceOptions pod;
  std::string dir;
  bool detach = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--pod-id")
      pod.pod_id = value();
    else if (a == "--dir")
      dir = value();
    else if (a == "--hostname")
      pod.hostname = value();
    else if (a == "--netns-dir")
      pod.netns_dir = value();
    else if (a == "--host-network")
      pod.new_network = false;
    else if (a == "--join-netns")
      pod.join_network = value();
    else if (a == "--host-ipc")
      pod.new_ipc = false;
    else if (a == "--pod-pid")
      pod.new_pid = true;
    else if (a == "--detach")
      detach = true;
    else if (a == "--sysctl" && i + 1 < argc && std::strchr(argv[i + 1], '=') != nullptr) {
      const std::string kv = value();
      pod.sysctls[kv.substr(0, kv.find('='))] = kv.substr(kv.find('=') + 1);
    } else
      return Usage();
  }
  if (pod.pod_id.empty() || dir.empty()) return Usage();
  if (detach) {
    const pid_t child = ::fork();
    if (child < 0) {
      std::fprintf(stdout, "error fork: %s\n", std::strerror(errno));
      return 1;
    }
    if (child > 0) ::_exit(0);
    ::setsid();  // its own session: no signal to the daemon's group reaches the pod
    // Who to kill if it never becomes ready (the daemon reaped only the first process).
    std::fprintf(stdout, "pid %d\n", static_cast<int>(::getpid()));
    std::fflush(stdout);
  }
  // Orphaned processes of the containers are re-parented to us, and reaped here.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  UniqueFd signal_fd(::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));

  absl::StatusOr<std::unique_ptr<PodNamespaces>> namespaces = PodNamespaces::Create(pod);
  if (!namespaces.ok()) {
    std::fprintf(stdout, "error %s\n", std::string(namespaces.status().message()).c_str());
    return 1;
  }
  const std::string socket_path = dir + "/shim.sock";
  ::unlink(socket_path.c_str());
  UniqueFd listen_fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  // Bound through the directory's descriptor: a run dir deep enough would not fit sun_path's
  // 108 bytes.
  UniqueFd dir_fd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  const std::string short_path = absl::StrCat("/proc/self/fd/", dir_fd.get(), "/shim.sock");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  short_path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  if (!listen_fd || !dir_fd ||
      ::bind(listen_fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) ||
      ::listen(listen_fd.get(), 16) != 0) {
    std::fprintf(stdout, "error cannot listen on %s: %s\n", socket_path.c_str(),
                 std::strerror(errno));
    return 1;
  }
  // Ready: the daemon reads this line, then we stop writing to its pipe.
  std::fprintf(stdout, "ready %d\n", (*namespaces)->holder_pid());
  std::fflush(stdout);
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  ::dup2(devnull, 1);
  // One shim per pod: give back the start-up code pages (see startup_memory.h).
  ReleaseStartupMemory();
  const int code = RunShimServer(dir, NewLinuxShimPlatform(*std::move(namespaces)),
                                 std::move(listen_fd), std::move(signal_fd));
  ::unlink(socket_path.c_str());
  return code;
}
