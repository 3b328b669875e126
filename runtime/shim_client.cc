#include "runtime/shim_client.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/errors.h"
#include "common/fd_passing.h"
#include "common/unique_fd.h"
#include "nlohmann/json.hpp"

extern char** environ;

namespace stockade {
namespace {

using Json = nlohmann::json;

std::string SocketPath(const std::string& dir) { return dir + "/shim.sock"; }

absl::StatusOr<UniqueFd> Dial(const std::string& dir) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return ErrnoError(errno, "socket");
  // Through the directory's descriptor: the full path may not fit sun_path's 108 bytes.
  UniqueFd dir_fd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd) {
    return absl::UnavailableError(
        absl::StrCat("the pod's shim directory ", dir, " is gone: ", std::strerror(errno)));
  }
  const std::string short_path = absl::StrCat("/proc/self/fd/", dir_fd.get(), "/shim.sock");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  short_path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return absl::UnavailableError(absl::StrCat("the pod's shim at ", SocketPath(dir),
                                               " does not answer: ", std::strerror(errno)));
  }
  return fd;
}

absl::StatusOr<Json> ParseReply(const std::string& reply);

absl::StatusOr<Json> Call(const std::string& dir, const Json& request) {
  absl::StatusOr<UniqueFd> fd = Dial(dir);
  if (!fd.ok()) return fd.status();
  const std::string line = request.dump() + "\n";
  if (::send(fd->get(), line.data(), line.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(line.size())) {
    return ErrnoError(errno, "send to the shim");
  }
  std::string reply;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd->get(), buf, sizeof(buf))) > 0) reply.append(buf, static_cast<size_t>(n));
  return ParseReply(reply);
}

absl::StatusOr<Json> ParseReply(const std::string& reply) {
  Json doc = Json::parse(reply, nullptr, false);
  if (!doc.is_object()) return absl::UnavailableError("the shim gave no readable answer");
  if (doc.value("ok", false)) return doc;
  const std::string message = absl::StrCat("shim: ", doc.value("error", "unknown error"));
  const std::string code = doc.value("code", "failed");
  if (code == "not_found") return absl::NotFoundError(message);
  if (code == "already_exists") return absl::AlreadyExistsError(message);
  if (code == "invalid") return absl::InvalidArgumentError(message);
  return absl::FailedPreconditionError(message);
}

// The process fields of a start or exec request, as the shim reads them (ReadProcessFields).
Json ProcessJson(const ShimProcessSpec& spec) {
  return {{"argv", spec.argv},
          {"env", spec.env},
          {"cwd", spec.cwd},
          {"uid", spec.uid},
          {"gid", spec.gid},
          {"gids", spec.additional_gids},
          {"caps", spec.capabilities},
          {"no_new_privs", spec.no_new_privs},
          {"seccomp_filter", spec.seccomp_filter}};
}

// Sends one request line with descriptors attached (SCM_RIGHTS).
absl::Status SendWithFds(int conn, const std::string& line, const std::vector<int>& fds) {
  iovec iov{const_cast<char*>(line.data()), line.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  const ssize_t sent = ::sendmsg(conn, &msg, MSG_NOSIGNAL);
  if (sent != static_cast<ssize_t>(line.size())) return ErrnoError(errno, "send to the shim");
  return absl::OkStatus();
}

// Keeps what fits under the cap of both streams together; counts the rest as dropped.
void Keep(std::string& out, const char* data, size_t n, size_t& room, bool& truncated) {
  const size_t kept = std::min(n, room);
  out.append(data, kept);
  room -= kept;
  truncated |= kept < n;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ShimClient>> ShimClient::Launch(const ShimLaunch& launch,
                                                               absl::Duration timeout) {
  std::vector<std::string> args = {launch.shim_path, "--pod-id", launch.pod_id, "--dir",
                                   launch.dir};
  if (!launch.hostname.empty()) args.insert(args.end(), {"--hostname", launch.hostname});
  if (!launch.netns_dir.empty()) args.insert(args.end(), {"--netns-dir", launch.netns_dir});
  if (launch.host_network) args.push_back("--host-network");
  if (!launch.join_netns.empty()) args.insert(args.end(), {"--join-netns", launch.join_netns});
  if (launch.host_ipc) args.push_back("--host-ipc");
  if (launch.pod_pid) args.push_back("--pod-pid");
  for (const auto& [key, value] : launch.sysctls) {
    args.insert(args.end(), {"--sysctl", absl::StrCat(key, "=", value)});
  }
  // The shim forks itself away (--detach): it neither needs reaping by the daemon nor dies
  // with it, and the daemon's address space is never copied (posix_spawn is a vfork).
  args.push_back("--detach");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return ErrnoError(errno, "pipe");
  UniqueFd read_end(out[0]), write_end(out[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDWR, 0);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), 1);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_RDWR, 0);
  // Nothing of the daemon's (gRPC, RocksDB, client connections) goes to the shim.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  // What the daemon (or Nomad's plugin) ignores, SIGPIPE and SIGINT, is the shim's default.
  sigset_t defaults;
  sigfillset(&defaults);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t first = -1;
  const int rc = ::posix_spawn(&first, argv[0], &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return ErrnoError(rc, absl::StrCat("start the pod shim ", launch.shim_path));
  while (::waitpid(first, nullptr, 0) < 0 && errno == EINTR) {
  }
  write_end.Reset();
  // "pid <shim>" first (once it has detached), then "ready ..." or "error ...".
  std::string said, line;
  pid_t shim_pid = -1;
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    const size_t eol = said.find('\n');
    if (eol != std::string::npos) {
      line = said.substr(0, eol);
      said.erase(0, eol + 1);
      int pid = 0;
      if (line.starts_with("pid ") && absl::SimpleAtoi(line.substr(4), &pid) && pid > 0) {
        shim_pid = pid;
        continue;
      }
      break;
    }
    pollfd p{read_end.get(), POLLIN, 0};
    const int wait_ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (wait_ms <= 0 || ::poll(&p, 1, wait_ms) <= 0) {
      // A shim that is stuck keeps nothing: it and its namespace holder (its process group).
      if (shim_pid > 0) ::kill(-shim_pid, SIGKILL);
      return absl::DeadlineExceededError(absl::StrCat("the pod's shim did not become ready within ",
                                                      absl::FormatDuration(timeout)));
    }
    char buf[256];
    ssize_t n = ::read(read_end.get(), buf, sizeof(buf));
    if (n <= 0) {
      line = said;
      break;
    }
    said.append(buf, static_cast<size_t>(n));
  }
  if (!absl::StartsWith(line, "ready")) {
    return absl::InternalError(absl::StrCat("the pod's shim failed to start: ",
                                            line.empty() ? "it exited without a word" : line));
  }
  return std::unique_ptr<ShimClient>(new ShimClient(launch.dir));
}

absl::StatusOr<std::unique_ptr<ShimClient>> ShimClient::Connect(const std::string& dir) {
  absl::StatusOr<UniqueFd> fd = Dial(dir);
  if (!fd.ok()) return fd.status();
  return std::unique_ptr<ShimClient>(new ShimClient(dir));
}

absl::StatusOr<pid_t> ShimClient::StartContainer(const std::string& id, const std::string& log_path,
                                                 const ShimContainerSpec& spec) {
  Json mounts = Json::array();
  for (const VolumeMount& m : spec.mounts) {
    mounts.push_back({{"host", m.host_path},
                      {"container", m.container_path},
                      {"ro", m.read_only},
                      {"propagation", static_cast<int>(m.propagation)}});
  }
  Json request = {
      {"op", "start"}, {"id", id}, {"log_path", log_path}, {"spec", ProcessJson(spec.process)}};
  request["spec"].update({{"rootfs", spec.rootfs},
                          {"read_only_rootfs", spec.read_only_rootfs},
                          {"privileged", spec.privileged},
                          {"hostname_file", spec.hostname_file},
                          {"hosts_file", spec.hosts_file},
                          {"resolv_conf_file", spec.resolv_conf_file},
                          {"masked_paths", spec.masked_paths},
                          {"readonly_paths", spec.readonly_paths},
                          {"mounts", mounts},
                          {"pid_ns", spec.pid_ns},
                          {"cgroup_procs", spec.cgroup_procs_files}});
  if (spec.oom_score_adj) request["spec"]["oom_score_adj"] = *spec.oom_score_adj;
  request["spec"].update(
      {{"stdin", spec.stdin}, {"stdin_once", spec.stdin_once}, {"tty", spec.tty}});
  if (!spec.stdout_path.empty()) request["spec"]["stdout_path"] = spec.stdout_path;
  if (spec.devfs_ruleset) request["spec"]["devfs_ruleset"] = *spec.devfs_ruleset;
  if (!spec.dev_links.empty()) request["spec"]["dev_links"] = spec.dev_links;
  if (spec.linux_image) request["spec"]["linux_image"] = true;
  if (!spec.stderr_path.empty()) request["spec"]["stderr_path"] = spec.stderr_path;
  absl::StatusOr<Json> reply = Call(dir_, request);
  if (!reply.ok()) return reply.status();
  return reply->value("pid", -1);
}

absl::Status ShimClient::Kill(const std::string& id, int signal) {
  return Call(dir_, {{"op", "kill"}, {"id", id}, {"signal", signal}}).status();
}

absl::StatusOr<ShimContainerState> ShimClient::State(const std::string& id) {
  absl::StatusOr<Json> reply = Call(dir_, {{"op", "state"}, {"id", id}});
  if (!reply.ok()) return reply.status();
  ShimContainerState state;
  state.running = reply->value("running", false);
  state.pid = reply->value("pid", -1);
  if (reply->contains("exit")) {
    const Json& exit = (*reply)["exit"];
    state.exit_code = exit.value("exit_code", 0);
    state.signal = exit.value("signal", 0);
    state.finished_at_unix_nano = exit.value("finished_at_unix_nano", int64_t{0});
  }
  return state;
}

absl::Status ShimClient::ReopenLog(const std::string& id) {
  return Call(dir_, {{"op", "reopen"}, {"id", id}}).status();
}

absl::Status ShimClient::Forget(const std::string& id) {
  return Call(dir_, {{"op", "forget"}, {"id", id}}).status();
}

absl::StatusOr<ShimExecResult> ShimClient::Exec(const std::string& id, const ShimProcessSpec& spec,
                                                absl::Duration timeout, size_t max_output) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC | O_NONBLOCK) != 0) return ErrnoError(errno, "pipe");
  UniqueFd out_r(out[0]), out_w(out[1]);
  if (::pipe2(err, O_CLOEXEC | O_NONBLOCK) != 0) return ErrnoError(errno, "pipe");
  UniqueFd err_r(err[0]), err_w(err[1]);
  // The command's end of the pipes blocks as usual.
  ::fcntl(out_w.get(), F_SETFL, 0);
  ::fcntl(err_w.get(), F_SETFL, 0);
  absl::StatusOr<UniqueFd> conn = Dial(dir_);
  if (!conn.ok()) return conn.status();
  const Json request = {
      {"op", "exec"},
      {"id", id},
      {"timeout_ms", timeout > absl::ZeroDuration() ? absl::ToInt64Milliseconds(timeout) : 0},
      {"spec", ProcessJson(spec)}};
  if (absl::Status s = SendWithFds(conn->get(), request.dump() + "\n", {out_w.get(), err_w.get()});
      !s.ok()) {
    return s;
  }
  out_w.Reset();
  err_w.Reset();

  // The shim answers when the command has ended (or was killed at the timeout); output is read
  // meanwhile. A background child holding the pipes does not keep the call open.
  ShimExecResult result;
  size_t room = max_output;
  std::string reply;
  // The shim enforces the timeout; this bound only covers a shim that stopped answering.
  const absl::Time give_up = timeout > absl::ZeroDuration()
                                 ? absl::Now() + timeout + absl::Seconds(10)
                                 : absl::InfiniteFuture();
  char buf[65536];
  auto drain = [&](UniqueFd& fd, std::string& into) {
    while (fd) {
      const ssize_t n = ::read(fd.get(), buf, sizeof(buf));
      if (n > 0) {
        Keep(into, buf, static_cast<size_t>(n), room, result.truncated);
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EINTR)) fd.Reset();
      return;
    }
  };
  while (reply.find('\n') == std::string::npos) {
    pollfd fds[3] = {{conn->get(), POLLIN, 0},
                     {out_r ? out_r.get() : -1, POLLIN, 0},
                     {err_r ? err_r.get() : -1, POLLIN, 0}};
    int wait_ms = -1;
    if (give_up != absl::InfiniteFuture()) {
      wait_ms = static_cast<int>(
          std::max<int64_t>(0, absl::ToInt64Milliseconds(give_up - absl::Now()) + 1));
    }
    const int ready = ::poll(fds, 3, wait_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      // Closing the connection tells the shim to kill the command.
      return absl::DeadlineExceededError("the pod's shim did not report the command's end");
    }
    if (fds[1].revents != 0) drain(out_r, result.stdout_bytes);
    if (fds[2].revents != 0) drain(err_r, result.stderr_bytes);
    if (fds[0].revents != 0) {
      const ssize_t n = ::read(conn->get(), buf, sizeof(buf));
      if (n <= 0) return absl::UnavailableError("the pod's shim went away during the exec");
      reply.append(buf, static_cast<size_t>(n));
    }
  }
  // What the command wrote before it ended is in the pipes now; nothing more is waited for.
  drain(out_r, result.stdout_bytes);
  drain(err_r, result.stderr_bytes);
  absl::StatusOr<Json> doc = ParseReply(reply);
  if (!doc.ok()) return doc.status();
  result.exit_code = doc->value("exit_code", -1);
  result.timed_out = doc->value("timed_out", false);
  return result;
}

absl::Status ShimClient::Shutdown() { return Call(dir_, {{"op", "shutdown"}}).status(); }

}  // namespace stockade

namespace stockade {
namespace {

absl::Status MakePipe(UniqueFd& read_end, UniqueFd& write_end) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return ErrnoError(errno, "pipe");
  read_end.Reset(p[0]);
  write_end.Reset(p[1]);
  return absl::OkStatus();
}

void SetNonBlocking(const UniqueFd& fd) {
  if (fd) ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) | O_NONBLOCK);
}

// Sends a streamed session's request with the process's ends of its stdio; the connection
// becomes the stream's `done`.
absl::Status SendStreamRequest(const std::string& dir, const Json& request,
                               const std::vector<UniqueFd>& theirs, ShimStream& stream) {
  absl::StatusOr<UniqueFd> conn = Dial(dir);
  if (!conn.ok()) return conn.status();
  std::vector<int> fds;
  for (const UniqueFd& fd : theirs) fds.push_back(fd.get());
  if (absl::Status s = SendWithFds(conn->get(), request.dump() + "\n", fds); !s.ok()) return s;
  stream.done = *std::move(conn);
  SetNonBlocking(stream.input);
  SetNonBlocking(stream.output);
  SetNonBlocking(stream.errors);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ShimStream> ShimClient::OpenExec(const std::string& id, const ShimProcessSpec& spec,
                                                bool tty, bool with_stdin) {
  ShimStream stream;
  std::vector<UniqueFd> theirs;  // the command's ends, sent to the shim
  if (!tty) {
    UniqueFd r, w;
    if (with_stdin) {
      if (absl::Status s = MakePipe(r, w); !s.ok()) return s;
      stream.input = std::move(w);
      theirs.push_back(std::move(r));
    }
    for (UniqueFd* mine : {&stream.output, &stream.errors}) {
      if (absl::Status s = MakePipe(r, w); !s.ok()) return s;
      *mine = std::move(r);
      theirs.push_back(std::move(w));
    }
  }
  const Json request = {{"op", "exec"},        {"id", id},
                        {"timeout_ms", 0},     {"tty", tty},
                        {"stdin", with_stdin}, {"spec", ProcessJson(spec)}};
  if (absl::Status s = SendStreamRequest(dir_, request, theirs, stream); !s.ok()) return s;
  if (tty) {
    // The shim made the terminal inside the container and sends its master first; anything
    // else is its error answer.
    char first = 0;
    UniqueFd master = ReceiveDescriptor(stream.done.get(), &first);
    if (!master) {
      std::string reply(1, first);
      char buf[4096];
      ssize_t n;
      while (reply.find('\n') == std::string::npos &&
             (n = ::recv(stream.done.get(), buf, sizeof(buf), 0)) > 0) {
        reply.append(buf, static_cast<size_t>(n));
      }
      absl::StatusOr<Json> doc = ParseReply(reply.substr(0, reply.find('\n')));
      return doc.ok() ? absl::UnavailableError("the shim sent no terminal") : doc.status();
    }
    stream.output = std::move(master);
    if (with_stdin) stream.input.Reset(::fcntl(stream.output.get(), F_DUPFD_CLOEXEC, 0));
    SetNonBlocking(stream.output);
    SetNonBlocking(stream.input);
  }
  return stream;
}

absl::StatusOr<ShimStream> ShimClient::Attach(const std::string& id, bool in, bool out, bool err) {
  ShimStream stream;
  std::vector<UniqueFd> theirs;
  UniqueFd r, w;
  if (in) {
    if (absl::Status s = MakePipe(r, w); !s.ok()) return s;
    stream.input = std::move(w);
    theirs.push_back(std::move(r));
  }
  for (auto [wanted, mine] : {std::pair{out, &stream.output}, std::pair{err, &stream.errors}}) {
    if (!wanted) continue;
    if (absl::Status s = MakePipe(r, w); !s.ok()) return s;
    *mine = std::move(r);
    theirs.push_back(std::move(w));
  }
  const Json request = {
      {"op", "attach"}, {"id", id}, {"stdin", in}, {"stdout", out}, {"stderr", err}};
  if (absl::Status s = SendStreamRequest(dir_, request, theirs, stream); !s.ok()) return s;
  return stream;
}

absl::Status ShimClient::ResizeTerminal(const std::string& id, uint16_t width, uint16_t height) {
  return Call(dir_, {{"op", "resize"}, {"id", id}, {"width", width}, {"height", height}}).status();
}

absl::StatusOr<int> ShimClient::ReadStreamEnd(int done_fd) {
  std::string reply;
  char buf[4096];
  while (reply.find('\n') == std::string::npos) {
    const ssize_t n = ::recv(done_fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  if (reply.empty()) return absl::UnavailableError("the pod's shim went away during the session");
  absl::StatusOr<Json> doc = ParseReply(reply.substr(0, reply.find('\n')));
  if (!doc.ok()) return doc.status();
  return doc->value("exit_code", 0);
}

}  // namespace stockade
