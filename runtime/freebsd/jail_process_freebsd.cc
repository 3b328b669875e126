// FreeBSD's headers want <sys/param.h> first.
#include <sys/param.h>

#include "runtime/freebsd/jail_process.h"

#include <fcntl.h>
#include <jail.h>
#include <signal.h>
#include <sys/event.h>
#include <sys/ioctl.h>
#include <sys/jail.h>
#include <sys/procctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "runtime/freebsd/jail_calls.h"

extern char** environ;

namespace stockade::freebsd {
namespace {

struct ChildReport {
  int step;
  int err;
};

constexpr const char* kSteps[] = {
    "",      "set up stdio",     "start a session", "attach to the jail",
    "chdir", "setgroups",        "setgid",          "setuid",
    "exec",  "take the terminal"};

// The child's whole life between fork and exec: system calls only, no allocation.
[[noreturn]] void RunChild(int report_fd, int jid, char* const* argv, char** envp, const char* cwd,
                           const char* path, uid_t uid, gid_t gid, const gid_t* groups, int ngroups,
                           const int stdio[3], bool tty) {
  auto fail = [&](int step) {
    ChildReport r{step, errno};
    ::write(report_fd, &r, sizeof(r));
    ::_exit(127);
  };
  // Every disposition back to its default (the shim ignores SIGPIPE; under Nomad SIGINT is
  // ignored too, and an ignored signal stays ignored across exec), then no signal blocked.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int i = 0; i < 3; ++i) {
    const int fd = stdio[i] >= 0 ? stdio[i] : ::open("/dev/null", O_RDWR);
    if (fd < 0 || ::dup2(fd, i) < 0) fail(1);
  }
  // Nothing of the shim's but stdio and the report pipe (close-on-exec) reaches the command.
  ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  if (::setsid() < 0) fail(2);
  if (tty && ::ioctl(0, TIOCSCTTY, 0) != 0) fail(9);
  if (::jail_attach(jid) != 0) fail(3);
  if (::chdir(cwd) != 0) fail(4);
  if (::setgroups(ngroups, groups) != 0) fail(5);
  if (::setgid(gid) != 0) fail(6);
  if (::setuid(uid) != 0) fail(7);
  environ = envp;
  // The search runs inside the jail: its root is the container's.
  ::execvP(argv[0], path, argv);
  fail(8);
  ::_exit(127);  // not reached: fail() exits
}

}  // namespace

absl::StatusOr<pid_t> StartJailProcess(const JailProcessSpec& spec) {
  if (spec.argv.empty()) return absl::InvalidArgumentError("no command to run");
  // Before the fork: the JID must still be this container's jail.
  char* current = jail_getname(spec.jid);
  const bool same = current != nullptr && spec.jail_name == current;
  std::free(current);
  if (!same) {
    return absl::FailedPreconditionError(
        absl::StrCat("jail ", spec.jail_name, " (jid ", spec.jid, ") is gone"));
  }
  // Everything the child needs, prepared while allocating is still allowed.
  std::vector<char*> argv, envp;
  for (const std::string& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const std::string& e : spec.env) {
    envp.push_back(const_cast<char*>(e.c_str()));
    if (absl::StartsWith(e, "PATH=")) path = e.substr(5);
  }
  envp.push_back(nullptr);
  std::vector<gid_t> groups(spec.additional_gids.begin(), spec.additional_gids.end());
  if (groups.empty()) groups.push_back(spec.gid);
  const int stdio[3] = {spec.stdin_fd, spec.stdout_fd, spec.stderr_fd};
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(report[0]);
    ::close(report[1]);
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(err)));
  }
  if (pid == 0) {
    ::close(report[0]);
    RunChild(report[1], spec.jid, argv.data(), envp.data(), spec.cwd.c_str(), path.c_str(),
             spec.uid, spec.gid, groups.data(), static_cast<int>(groups.size()), stdio, spec.tty);
  }
  ::close(report[1]);
  ChildReport r{0, 0};
  ssize_t n;
  do {
    n = ::read(report[0], &r, sizeof(r));
  } while (n < 0 && errno == EINTR);
  ::close(report[0]);
  if (n == 0) return pid;  // the report pipe closed at exec
  ::waitpid(pid, nullptr, 0);
  const int step = n == sizeof(r) && r.step > 0 && r.step < 10 ? r.step : 0;
  return absl::FailedPreconditionError(absl::StrCat("start ", spec.argv[0], " in jail ",
                                                    spec.jail_name, ": ", kSteps[step], ": ",
                                                    std::strerror(r.err)));
}

absl::StatusOr<ProcessReaper> ProcessReaper::Create() {
  if (::procctl(P_PID, ::getpid(), PROC_REAP_ACQUIRE, nullptr) != 0 && errno != EBUSY) {
    return absl::InternalError(absl::StrCat("procctl PROC_REAP_ACQUIRE: ", std::strerror(errno)));
  }
  UniqueFd kq(::kqueuex(KQUEUE_CLOEXEC));
  if (!kq) return absl::InternalError(absl::StrCat("kqueue: ", std::strerror(errno)));
  struct kevent ev;
  EV_SET(&ev, SIGCHLD, EVFILT_SIGNAL, EV_ADD, 0, 0, nullptr);
  if (::kevent(kq.get(), &ev, 1, nullptr, 0, nullptr) != 0) {
    return absl::InternalError(absl::StrCat("kevent SIGCHLD: ", std::strerror(errno)));
  }
  return ProcessReaper(std::move(kq));
}

absl::Status ProcessReaper::Watch(pid_t pid) {
  struct kevent ev;
  EV_SET(&ev, pid, EVFILT_PROC, EV_ADD | EV_ONESHOT, NOTE_EXIT, 0, nullptr);
  // ESRCH: it ended already; the SIGCHLD it sent wakes the caller all the same.
  if (::kevent(kq_.get(), &ev, 1, nullptr, 0, nullptr) != 0 && errno != ESRCH) {
    return absl::InternalError(absl::StrCat("kevent watch ", pid, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

void ProcessReaper::Drain() {
  struct kevent got[32];
  const timespec zero{0, 0};
  while (::kevent(kq_.get(), nullptr, 0, got, 32, &zero) == 32) {
  }
}

}  // namespace stockade::freebsd
