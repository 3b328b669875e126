// ExecSync on Linux: fork, enter the container's cgroup and namespaces, fork again (a PID
// namespace applies to children), become the container's user, exec. The first child reports
// the second's PID so a timeout can kill it, and passes on its exit status.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "runtime/common/errors.h"
#include "runtime/common/unique_fd.h"
#include "runtime/linux/linux_jail_backend.h"
#include "runtime/linux/process_identity.h"
#include "runtime/linux/seccomp.h"

namespace stockade {
namespace {

struct Report {
  int kind;   // 1: the command's PID; 2: a failed step
  int value;  // the PID, or errno
  char step[48];
};

constexpr int kNamespaceTypes[] = {CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET, CLONE_NEWPID,
                                   CLONE_NEWNS};
constexpr const char* kNamespaceNames[] = {"ipc", "uts", "net", "pid", "mnt"};

struct ExecPlan {
  std::vector<int> namespace_fds;  // in kNamespaceTypes order
  std::vector<std::string> cgroup_procs_files;
  std::vector<std::string> candidates;  // where argv[0] may be, in PATH order
  std::vector<char*> argv, envp;
  std::string cwd;
  PreparedIdentity identity;
  int report_fd, out_fd, err_fd;
};

[[noreturn]] void Fail(const ExecPlan& plan, const char* step) {
  Report r{2, errno, {}};
  std::strncpy(r.step, step, sizeof(r.step) - 1);
  ::write(plan.report_fd, &r, sizeof(r));
  ::_exit(126);
}

[[noreturn]] void RunCommand(const ExecPlan& plan) {
  if (::chdir(plan.cwd.c_str()) != 0) Fail(plan, "chdir to the working directory");
  if (const char* step = ApplyIdentity(plan.identity); step != nullptr) Fail(plan, step);
  int devnull = ::open("/dev/null", O_RDONLY);
  ::dup2(devnull, 0);
  ::dup2(plan.out_fd, 1);
  ::dup2(plan.err_fd, 2);
  if (const char* step = LoadSeccomp(plan.identity); step != nullptr) Fail(plan, step);
  int first_errno = 0;
  for (const std::string& path : plan.candidates) {
    ::execve(path.c_str(), plan.argv.data(), plan.envp.data());
    if (first_errno == 0 || errno != ENOENT) first_errno = errno;
  }
  errno = first_errno;
  Fail(plan, "exec the command");
}

[[noreturn]] void EnterAndRun(const ExecPlan& plan) {
  for (const std::string& file : plan.cgroup_procs_files) {
    int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      ::write(fd, "0", 1);
      ::close(fd);
    }
  }
  for (size_t i = 0; i < plan.namespace_fds.size(); ++i) {
    if (::setns(plan.namespace_fds[i], kNamespaceTypes[i]) != 0) Fail(plan, "enter a namespace");
  }
  const pid_t command = ::fork();
  if (command < 0) Fail(plan, "fork");
  if (command == 0) RunCommand(plan);
  Report r{1, command, {}};
  ::write(plan.report_fd, &r, sizeof(r));
  int status = 0;
  while (::waitpid(command, &status, 0) < 0 && errno == EINTR) {
  }
  ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

std::vector<std::string> Candidates(const std::string& command,
                                    const std::vector<std::string>& env) {
  if (absl::StrContains(command, "/")) return {command};
  std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const std::string& e : env) {
    if (absl::StartsWith(e, "PATH=")) path = e.substr(5);
  }
  std::vector<std::string> out;
  for (absl::string_view dir : absl::StrSplit(path, ':', absl::SkipEmpty())) {
    out.push_back(absl::StrCat(dir, "/", command));
  }
  return out;
}

}  // namespace

absl::StatusOr<ExecOutput> ExecInNamespacesOf(pid_t pid,
                                              const std::vector<std::string>& cgroup_procs_files,
                                              const ProcessIdentity& identity,
                                              absl::Duration timeout) {
  std::vector<UniqueFd> namespaces;
  for (const char* name : kNamespaceNames) {
    const std::string path = absl::StrCat("/proc/", pid, "/ns/", name);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the container's process ", pid, " is gone (", path, ": ", std::strerror(errno), ")"));
    }
    namespaces.push_back(std::move(fd));
  }
  std::vector<uint64_t> filter;
  if (identity.seccomp == SeccompMode::kRuntimeDefault) {
    absl::StatusOr<std::vector<uint64_t>> built =
        RuntimeDefaultSeccompFilter(identity.capabilities);
    if (!built.ok()) return built.status();
    filter = *std::move(built);
  }
  int report[2], out[2], err[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return ErrnoError(errno, "pipe");
  UniqueFd report_r(report[0]), report_w(report[1]);
  if (::pipe2(out, O_CLOEXEC) != 0) return ErrnoError(errno, "pipe");
  UniqueFd out_r(out[0]), out_w(out[1]);
  if (::pipe2(err, O_CLOEXEC) != 0) return ErrnoError(errno, "pipe");
  UniqueFd err_r(err[0]), err_w(err[1]);

  ExecPlan plan;
  for (const UniqueFd& fd : namespaces) plan.namespace_fds.push_back(fd.get());
  plan.cgroup_procs_files = cgroup_procs_files;
  plan.candidates = Candidates(identity.argv[0], identity.env);
  std::vector<std::string> argv = identity.argv, env = identity.env;
  for (std::string& a : argv) plan.argv.push_back(a.data());
  plan.argv.push_back(nullptr);
  for (std::string& e : env) plan.envp.push_back(e.data());
  plan.envp.push_back(nullptr);
  plan.cwd = identity.cwd.empty() ? "/" : identity.cwd;
  plan.identity = PrepareIdentity(identity.uid, identity.gid, identity.additional_gids,
                                  identity.capabilities, identity.no_new_privs);
  plan.identity.seccomp_filter = &filter;
  plan.report_fd = report_w.get();
  plan.out_fd = out_w.get();
  plan.err_fd = err_w.get();

  const pid_t child = ::fork();
  if (child < 0) return ErrnoError(errno, "fork");
  if (child == 0) EnterAndRun(plan);
  report_w.Reset();
  out_w.Reset();
  err_w.Reset();

  ExecOutput output;
  pid_t command = -1;
  Report failure{};
  const absl::Time deadline =
      timeout > absl::ZeroDuration() ? absl::Now() + timeout : absl::InfiniteFuture();
  ::fcntl(out_r.get(), F_SETFL, O_NONBLOCK);
  ::fcntl(err_r.get(), F_SETFL, O_NONBLOCK);
  while (out_r || err_r || report_r) {
    std::vector<pollfd> fds;
    for (UniqueFd* fd : {&out_r, &err_r, &report_r}) {
      fds.push_back({*fd ? fd->get() : -1, POLLIN, 0});
    }
    const absl::Duration left = deadline - absl::Now();
    const int wait_ms =
        left == absl::InfiniteDuration()
            ? -1
            : static_cast<int>(std::max<int64_t>(0, absl::ToInt64Milliseconds(left) + 1));
    const int ready = ::poll(fds.data(), fds.size(), wait_ms);
    if (ready == 0 || absl::Now() >= deadline) {
      output.timed_out = true;
      if (command > 0) ::kill(command, SIGKILL);
      break;
    }
    if (ready < 0) continue;
    char buf[16384];
    for (int i = 0; i < 2; ++i) {
      if (fds[i].revents == 0) continue;
      UniqueFd& fd = i == 0 ? out_r : err_r;
      const ssize_t n = ::read(fd.get(), buf, sizeof(buf));
      if (n > 0) {
        (i == 0 ? output.stdout_bytes : output.stderr_bytes).append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EAGAIN) {
        fd.Reset();
      }
    }
    if (fds[2].revents != 0) {
      Report r{};
      if (::read(report_r.get(), &r, sizeof(r)) == sizeof(r)) {
        if (r.kind == 1) command = r.value;
        if (r.kind == 2) failure = r;
      } else {
        report_r.Reset();
      }
    }
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  if (failure.kind == 2) {
    return ErrnoError(failure.value, absl::StrCat("exec in the container: ", failure.step));
  }
  output.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return output;
}

}  // namespace stockade
