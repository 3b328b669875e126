#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "runtime/linux/clone_in_cgroup.h"
#include "runtime/linux/command_exec.h"
#include "runtime/linux/exec_session.h"

namespace stockade {
namespace {

struct Failure {
  char step[64];
  int err;
};

constexpr int kNamespaceTypes[] = {CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET, CLONE_NEWPID,
                                   CLONE_NEWNS};
constexpr const char* kNamespaceNames[] = {"ipc", "uts", "net", "pid", "mnt"};

// Everything prepared before fork: the children allocate nothing.
struct Plan {
  const ExecSessionSpec* spec;
  int namespace_fds[5];
  std::vector<char*> argv, envp;
  PreparedIdentity identity;
  int report_fd;
  bool in_cgroup = false;  // made in the container's cgroup: nothing to enter
};

[[noreturn]] void Fail(const Plan& plan, const char* step) {
  Failure f{};
  std::strncpy(f.step, step, sizeof(f.step) - 1);
  f.err = errno;
  ::write(plan.report_fd, &f, sizeof(f));
  ::_exit(127);
}

[[noreturn]] void RunCommand(const Plan& plan) {
  const ExecSessionSpec& s = *plan.spec;
  if (::chdir(s.cwd.c_str()) != 0) Fail(plan, "chdir to the working directory");
  if (const char* step = ApplyIdentity(plan.identity); step != nullptr) Fail(plan, step);
  const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0 || ::dup2(s.stdin_fd >= 0 ? s.stdin_fd : devnull, 0) < 0 ||
      ::dup2(s.stdout_fd, 1) < 0 || ::dup2(s.stderr_fd, 2) < 0) {
    Fail(plan, "set up stdio");
  }
  ResetSignalsForExec();
  CloseInheritedDescriptorsOnExec();
  if (const char* step = LoadSeccomp(plan.identity); step != nullptr) Fail(plan, step);
  ExecWithContainerPath(plan.argv[0], plan.argv.data(), plan.envp.data());
  Fail(plan, "exec the command");
}

[[noreturn]] void Relay(const Plan& plan) {
  // Nothing of the shim's memory may be read through /proc until the command's exec.
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (plan.spec->tty) {
    // A session of its own (also a process group: the kill of the group reaches it all).
    if (::setsid() < 0) Fail(plan, "make a session");
    if (::ioctl(plan.spec->stdin_fd, TIOCSCTTY, 0) != 0) Fail(plan, "take the terminal");
  } else if (::setpgid(0, 0) != 0) {
    Fail(plan, "make a process group");
  }
  // No copy of the list: this runs in the forked child.
  for (size_t i = 0; !plan.in_cgroup && i < plan.spec->cgroup_procs_files.size(); ++i) {
    const int fd = ::open(plan.spec->cgroup_procs_files[i].c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0 || ::write(fd, "0", 1) != 1) Fail(plan, "enter the container's cgroup");
    ::close(fd);
  }
  for (size_t i = 0; i < 5; ++i) {
    if (::setns(plan.namespace_fds[i], kNamespaceTypes[i]) != 0) Fail(plan, "enter a namespace");
  }
  const pid_t command = ::fork();
  if (command < 0) Fail(plan, "fork");
  if (command == 0) RunCommand(plan);
  int status = 0;
  while (::waitpid(command, &status, 0) < 0 && errno == EINTR) {
  }
  ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

}  // namespace

absl::StatusOr<ExecRelay> StartExecSession(const ExecSessionSpec& spec) {
  if (spec.argv.empty()) return absl::InvalidArgumentError("no command to run");
  UniqueFd namespaces[5];
  for (size_t i = 0; i < 5; ++i) {
    const std::string path = absl::StrCat("/proc/", spec.container_pid, "/ns/", kNamespaceNames[i]);
    namespaces[i].Reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!namespaces[i]) {
      return absl::FailedPreconditionError(
          absl::StrCat("the container's process has ended (", path, ": ", std::strerror(errno),
                       "): commands run only in a running container"));
    }
  }
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return ErrnoError(errno, "pipe");
  UniqueFd report_r(report[0]), report_w(report[1]);
  Plan plan{&spec, {}, {}, {}, {}, report_w.get()};
  for (size_t i = 0; i < 5; ++i) plan.namespace_fds[i] = namespaces[i].get();
  for (const std::string& a : spec.argv) plan.argv.push_back(const_cast<char*>(a.c_str()));
  plan.argv.push_back(nullptr);
  for (const std::string& e : spec.env) plan.envp.push_back(const_cast<char*>(e.c_str()));
  plan.envp.push_back(nullptr);
  plan.identity = PrepareIdentity(spec.uid, spec.gid, spec.additional_gids, spec.capabilities,
                                  spec.no_new_privs);
  plan.identity.seccomp_filter = &spec.seccomp_filter;
  const UniqueFd cgroup = OpenCgroup2Directory(spec.cgroup_procs_files);
  bool in_cgroup = false;
  // cgroup v1: fork as before (the relay enters each hierarchy itself).
  const pid_t relay = cgroup ? CloneInCgroup(0, cgroup, &in_cgroup) : ::fork();
  if (relay < 0) return ErrnoError(errno, "fork the exec relay");
  if (relay == 0) {
    plan.in_cgroup = in_cgroup;
    Relay(plan);
  }
  // Also here: the kill of the group must not miss a relay that has not run setpgid yet.
  // (A terminal's relay makes a session instead, which a group leader could not.)
  if (!spec.tty) ::setpgid(relay, relay);
  ::fcntl(report_r.get(), F_SETFL, O_NONBLOCK);
  return ExecRelay{relay, std::move(report_r), in_cgroup};
}

std::optional<std::string> ExecSessionFailure(int report_fd) {
  Failure f{};
  if (::read(report_fd, &f, sizeof(f)) != sizeof(f)) return std::nullopt;
  f.step[sizeof(f.step) - 1] = '\0';
  return absl::StrCat(f.step, ": ", std::strerror(f.err));
}

}  // namespace stockade
