// stockade-shim on FreeBSD: one per pod, the same protocol as on Linux (shim_main_linux.cc's
// header). Makes the pod's persistent jail (VNET unless --host-network), becomes the reaper of
// everything it starts, and serves until shutdown; the pod's jail outlives stockaded as the
// shim does. FreeBSD only.
// usage: stockade-shim --pod-id ID --dir DIR [--hostname H] [--host-network] [--host-ipc]
//                      [--sysctl KEY=VALUE]... [--devfs-ruleset N] [--detach]
// (--detach: as on Linux, see shim_main_linux.cc.)
#include <sys/param.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/startup_memory.h"
#include "common/unique_fd.h"
#include "runtime/freebsd/jail_calls.h"
#include "runtime/freebsd/jail_plan.h"
#include "runtime/freebsd/jail_process.h"
#include "runtime/shim/shim_platform_freebsd.h"
#include "runtime/shim/shim_server.h"

namespace stockade {
namespace {

int Usage() {
  std::fprintf(stderr,
               "usage: stockade-shim --pod-id ID --dir DIR [--hostname H] [--host-network] "
               "[--host-ipc] [--sysctl KEY=VALUE]... [--devfs-ruleset N]\n");
  return 2;
}

int Fail(const std::string& message) {
  std::fprintf(stdout, "error %s\n", message.c_str());
  return 1;
}

}  // namespace
}  // namespace stockade

int main(int argc, char** argv) {
  using namespace stockade;
  PodJailSpec pod;
  freebsd::JailPlanOptions options;
  std::string dir;
  bool detach = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--pod-id") {
      pod.pod_id = value();
    } else if (a == "--dir") {
      dir = value();
    } else if (a == "--hostname") {
      pod.hostname = value();
    } else if (a == "--host-network") {
      pod.host_network = true;
    } else if (a == "--host-ipc") {
      pod.share_ipc_with_host = true;
    } else if (a == "--detach") {
      detach = true;
    } else if (a == "--devfs-ruleset") {
      if (!absl::SimpleAtoi(value(), &options.devfs_ruleset)) return Usage();
    } else if (a == "--sysctl" && i + 1 < argc && std::strchr(argv[i + 1], '=') != nullptr) {
      const std::string kv = value();
      pod.sysctls[kv.substr(0, kv.find('='))] = kv.substr(kv.find('=') + 1);
    } else if (a == "--pod-pid" || a == "--netns-dir" || a == "--join-netns") {
      return Fail(absl::StrCat(a, " has no meaning for FreeBSD jails"));
    } else {
      return Usage();
    }
  }
  if (pod.pod_id.empty() || dir.empty()) return Usage();
  if (detach) {
    const pid_t child = ::fork();
    if (child < 0) return Fail(absl::StrCat("fork: ", std::strerror(errno)));
    if (child > 0) ::_exit(0);
    ::setsid();  // its own session: no signal to the daemon's group reaches the pod
    // Who to kill if it never becomes ready (the daemon reaped only the first process).
    std::fprintf(stdout, "pid %d\n", static_cast<int>(::getpid()));
    std::fflush(stdout);
  }
  // SIGCHLD is taken by the kqueue, not delivered; a dead daemon's pipe is no reason to die.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  absl::StatusOr<freebsd::ProcessReaper> reaper = freebsd::ProcessReaper::Create();
  if (!reaper.ok()) return Fail(std::string(reaper.status().message()));

  absl::StatusOr<std::vector<freebsd::JailParam>> params = freebsd::PlanPodJail(pod, options);
  if (!params.ok()) return Fail(std::string(params.status().message()));
  const std::string pod_jail = freebsd::PodJailName(pod.pod_id);
  absl::StatusOr<int> jid = freebsd::CreateJail(*params);
  if (!jid.ok()) return Fail(std::string(jid.status().message()));

  const std::string socket_path = dir + "/shim.sock";
  ::unlink(socket_path.c_str());
  UniqueFd listen_fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  // Bound relative to the directory (bindat(2)): a deep run dir would not fit sun_path.
  UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, "shim.sock", sizeof(addr.sun_path) - 1);
  if (!listen_fd || !dir_fd ||
      ::bindat(dir_fd.get(), listen_fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) ||
      ::listen(listen_fd.get(), 16) != 0) {
    const std::string why = std::strerror(errno);
    freebsd::RemoveJail(pod_jail).IgnoreError();
    return Fail(absl::StrCat("cannot listen on ", socket_path, ": ", why));
  }
  // Ready: the daemon reads this line (with the pod jail's JID), then we stop writing to it.
  std::fprintf(stdout, "ready %d\n", *jid);
  std::fflush(stdout);
  const int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  ::dup2(devnull, 1);
  ReleaseStartupMemory();
  UniqueFd wake(::fcntl(reaper->fd(), F_DUPFD_CLOEXEC, 0));
  const int code =
      RunShimServer(dir, NewFreeBsdShimPlatform(pod.pod_id, pod_jail, *std::move(reaper)),
                    std::move(listen_fd), std::move(wake));
  ::unlink(socket_path.c_str());
  return code;
}
