#include "common/run_command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/errors.h"
#include "common/unique_fd.h"

extern char** environ;

namespace stockade {
namespace {

struct Pipe {
  UniqueFd read, write;
};

absl::StatusOr<Pipe> MakePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoError(errno, "create a pipe for a command");
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

}  // namespace

absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         const std::string& input, const RunOptions& options) {
  if (argv.empty()) return absl::InvalidArgumentError("no command to run");
  absl::StatusOr<Pipe> in = MakePipe(), out = MakePipe(), err = MakePipe();
  for (const auto* p : {&in, &out, &err}) {
    if (!p->ok()) return p->status();
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // dup2 clears close-on-exec on the copy; every other descriptor of ours is CLOEXEC.
  posix_spawn_file_actions_adddup2(&actions, in->read.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, out->write.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err->write.get(), 2);
  // Close-on-exec is not enough: a std::fstream of another thread is open without it.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);  // the daemon blocks signals; the tool must not
  sigset_t defaults;  // what the caller ignores (SIGPIPE; SIGINT under Nomad) is the tool's default
  sigfillset(&defaults);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  if (options.env) {
    for (const std::string& e : *options.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
  }
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, args[0], &actions, &attr, args.data(),
                                options.env ? envp.data() : environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  in->read.Reset();
  out->write.Reset();
  err->write.Reset();
  if (rc != 0) {
    return absl::NotFoundError(
        absl::StrCat("cannot run ", argv[0], ": ", std::strerror(rc),
                     rc == ENOENT ? " (is it installed, and in PATH?)" : ""));
  }

  CommandResult result;
  const absl::Time deadline = absl::Now() + options.timeout;
  bool timed_out = false;
  size_t written = 0;
  if (input.empty()) {
    in->write.Reset();
  } else {
    ::fcntl(in->write.get(), F_SETFL, O_NONBLOCK);
  }
  while (out->read || err->read) {
    pollfd fds[3];
    int n = 0;
    for (const UniqueFd* fd : {&out->read, &err->read}) {
      if (*fd) fds[n++] = {fd->get(), POLLIN, 0};
    }
    if (in->write) fds[n++] = {in->write.get(), POLLOUT, 0};
    int wait_ms = -1;
    if (options.timeout != absl::InfiniteDuration()) {
      const int64_t left = absl::ToInt64Milliseconds(deadline - absl::Now());
      if (left <= 0) {  // a tool that keeps talking past its deadline
        timed_out = true;
        break;
      }
      wait_ms = static_cast<int>(std::min<int64_t>(left, 1 << 30));
    }
    const int ready = ::poll(fds, static_cast<nfds_t>(n), wait_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      timed_out = true;  // cannot read it any more: it must not block on a full pipe
      break;
    }
    if (ready == 0) {
      timed_out = true;
      break;
    }
    for (int i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      if (in->write && fds[i].fd == in->write.get()) {
        const ssize_t w = ::write(in->write.get(), input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) {
          in->write.Reset();  // the tool reads EOF (or stopped reading: EPIPE)
        }
        continue;
      }
      UniqueFd& from = fds[i].fd == out->read.get() ? out->read : err->read;
      std::string& to = &from == &out->read ? result.out : result.err;
      char buf[16384];
      const ssize_t r = ::read(from.get(), buf, sizeof(buf));
      if (r > 0) {
        to.append(buf, static_cast<size_t>(r));
      } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        from.Reset();
      }
    }
  }
  in->write.Reset();
  out->read.Reset();
  err->read.Reset();
  if (timed_out) ::kill(pid, SIGKILL);
  // A tool that closed its output may still hang: the deadline holds for its exit too.
  int status = 0;
  while (true) {
    const pid_t done = ::waitpid(pid, &status, timed_out ? 0 : WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) return ErrnoError(errno, absl::StrCat("wait for ", argv[0]));
    if (done == 0) {
      if (options.timeout != absl::InfiniteDuration() && absl::Now() >= deadline) {
        timed_out = true;
        ::kill(pid, SIGKILL);
        continue;
      }
      absl::SleepFor(absl::Milliseconds(1));
    }
  }
  if (timed_out) {
    return absl::DeadlineExceededError(
        absl::StrCat(argv[0], " did not finish within ", absl::FormatDuration(options.timeout)));
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

absl::StatusOr<std::string> RunCommandOk(const std::vector<std::string>& argv,
                                         const std::string& input) {
  absl::StatusOr<CommandResult> r = RunCommand(argv, input);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    const absl::string_view said = absl::StripAsciiWhitespace(r->err);
    return absl::FailedPreconditionError(absl::StrCat("\"", absl::StrJoin(argv, " "),
                                                      "\" exited with ", r->exit_code,
                                                      said.empty() ? "" : ": ", said));
  }
  return std::move(r->out);
}

}  // namespace stockade
