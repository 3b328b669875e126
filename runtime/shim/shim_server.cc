// The pod shim's server, the same on every OS: one JSON line per request on `<dir>/shim.sock`
// (the protocol is in shim_main_linux.cc's header), the containers' table, their stdio into the
// CRI log (or the files the request names), attachments, exec sessions and their deadlines,
// exit records. What it takes of the OS (making a container's process, an exec session, a
// terminal; the pod's namespaces or jail) is a ShimPlatform.
#include "runtime/shim/shim_server.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/fd_passing.h"
#include "common/unique_fd.h"
#include "nlohmann/json.hpp"
#include "runtime/shim/cri_log.h"
#include "runtime/shim/exit_record.h"
#include "runtime/shim/shim_platform.h"
#include "runtime/shim/shim_wire.h"

namespace stockade {
namespace {

// A client attached to a container's stdio (through the daemon).
struct Attachment {
  UniqueFd conn;      // the attach request; the daemon closes it to detach
  UniqueFd in;        // what the client types: read end, or empty
  UniqueFd out, err;  // where the container's output also goes: write ends, or empty
};

// How much typed input waits for a container that does not read its stdin.
constexpr size_t kMaxPendingInput = 1 << 20;

struct Container {
  pid_t pid = -1;
  bool running = false;
  std::vector<std::string> cgroup_procs;  // what exec sessions enter
  std::unique_ptr<CriLogFile> log;
  std::unique_ptr<CriLogStream> out, err;
  UniqueFd out_fd, err_fd;  // read ends of the pipes; with a TTY, out_fd is the terminal
  bool tty = false, stdin_once = false;
  UniqueFd in_w;  // the container's stdin (a pipe's write end, or the terminal), or empty
  std::string in_pending;
  bool close_in_when_flushed = false;
  std::list<Attachment> attachments;
  ExitRecord exit;
};

// An exec session in flight: its relay, the connection its answer goes to (closed by the
// daemon to cancel it), and its deadline.
struct ExecCall {
  UniqueFd conn;
  ShimExec relay;
  absl::Time deadline = absl::InfiniteFuture();
  bool timed_out = false;
};

class Shim {
 public:
  Shim(std::string dir, std::unique_ptr<ShimPlatform> platform)
      : dir_(std::move(dir)), platform_(std::move(platform)) {}

  int Run(UniqueFd listen_fd, UniqueFd signal_fd) {
    while (!stop_) {
      std::vector<pollfd> fds = {{listen_fd.get(), POLLIN, 0}, {signal_fd.get(), POLLIN, 0}};
      // Exec connections come next: a hang-up is the daemon cancelling the session.
      std::vector<ExecCall*> calls;
      absl::Time next_deadline = absl::InfiniteFuture();
      for (auto& [pid, call] : execs_) {
        if (!call.timed_out) next_deadline = std::min(next_deadline, call.deadline);
        if (!call.conn) continue;
        fds.push_back({call.conn.get(), POLLIN, 0});
        calls.push_back(&call);
      }
      const size_t first_pipe = fds.size();
      std::vector<std::pair<Container*, bool>> owners;  // (container, is stdout)
      for (auto& [id, c] : containers_) {
        if (c.out_fd) {
          fds.push_back({c.out_fd.get(), POLLIN, 0});
          owners.push_back({&c, true});
        }
        if (c.err_fd) {
          fds.push_back({c.err_fd.get(), POLLIN, 0});
          owners.push_back({&c, false});
        }
      }
      // Then typed input: the attachments' descriptors and the containers' stdin.
      const size_t first_input = fds.size();
      std::vector<std::function<void(short)>> on_ready;
      for (auto& [id, c] : containers_) {
        Container* cp = &c;
        if (c.in_w && !c.in_pending.empty()) {
          fds.push_back({c.in_w.get(), POLLOUT, 0});
          on_ready.push_back([this, cp](short) { FlushInput(*cp); });
        }
        for (auto it = c.attachments.begin(); it != c.attachments.end(); ++it) {
          fds.push_back({it->conn.get(), POLLIN, 0});
          on_ready.push_back([this, cp, it](short) { DetachIfClosed(*cp, it); });
          if (it->in && c.in_pending.size() < kMaxPendingInput) {
            fds.push_back({it->in.get(), POLLIN, 0});
            on_ready.push_back([this, cp, it](short) { ReadInput(*cp, it); });
          }
        }
      }
      int wait_ms = -1;
      if (next_deadline != absl::InfiniteFuture()) {
        wait_ms = static_cast<int>(
            std::max<int64_t>(0, absl::ToInt64Milliseconds(next_deadline - absl::Now()) + 1));
      }
      if (::poll(fds.data(), fds.size(), wait_ms) < 0) continue;
      for (size_t i = first_pipe; i < first_input; ++i) {
        if (fds[i].revents != 0) Pump(*owners[i - first_pipe].first, owners[i - first_pipe].second);
      }
      // Each handler may end an attachment: the ones still pending are looked up again.
      std::vector<std::function<void(short)>> ready;
      for (size_t i = first_input; i < fds.size(); ++i) {
        if (fds[i].revents != 0) ready.push_back(on_ready[i - first_input]);
      }
      for (size_t i = 0; i < ready.size() && !attachments_changed_; ++i) ready[i](0);
      attachments_changed_ = false;
      for (size_t i = 2; i < first_pipe; ++i) {
        if (fds[i].revents != 0) CancelIfClosed(*calls[i - 2]);
      }
      KillOverdueExecs();
      if (fds[1].revents != 0) Reap(signal_fd.get());
      if (fds[0].revents != 0) Serve(listen_fd.get());
    }
    KillAll();
    return 0;
  }

 private:
  // Ends every container (recording its exit) and the pod's namespaces, before answering.
  void KillAll() {
    for (auto& [pid, call] : execs_) KillRelay(pid);
    for (auto& [id, c] : containers_) {
      if (!c.running) continue;
      ::kill(c.pid, SIGKILL);
      int status = 0;
      if (::waitpid(c.pid, &status, 0) == c.pid) RecordExit(id, c, status);
    }
    platform_->DestroyPod().IgnoreError();
  }

  void CancelIfClosed(ExecCall& call) {
    char buf[256];
    const ssize_t n = ::recv(call.conn.get(), buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR))) return;
    KillRelay(call.relay.pid);  // the daemon gave up: nobody waits for this command
    call.conn.Reset();
  }

  void KillOverdueExecs() {
    const absl::Time now = absl::Now();
    for (auto& [pid, call] : execs_) {
      if (call.timed_out || now < call.deadline) continue;
      // The whole group: the command and whatever it started in the background.
      KillRelay(pid);
      call.timed_out = true;
    }
  }

  void EndExec(pid_t pid, int status) {
    auto it = execs_.find(pid);
    if (it == execs_.end()) return;
    ExecCall& call = it->second;
    if (call.conn) {
      if (std::optional<std::string> failure = platform_->ExecFailure(call.relay.report.get())) {
        Reply(call.conn.get(), Error(absl::StrCat("exec in the container: ", *failure)));
      } else {
        const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        Reply(call.conn.get(), {{"ok", true}, {"exit_code", code}, {"timed_out", call.timed_out}});
      }
    }
    execs_.erase(it);
  }

  void RecordExit(const std::string& id, Container& c, int status) {
    while (c.out_fd && Pump(c, true)) {
    }
    while (c.err_fd && Pump(c, false)) {
    }
    c.running = false;
    c.exit.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    c.exit.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + c.exit.signal;
    c.exit.finished_at_unix_nano = absl::GetCurrentTimeNanos();
    WriteExitRecord(absl::StrCat(dir_, "/", id, ".exit"), c.exit).IgnoreError();
    platform_->ContainerExited(id);
    while (!c.attachments.empty()) EndAttachment(c, c.attachments.begin());
    c.in_w.Reset();
    c.in_pending.clear();
  }

  // Moves what is available from one pipe into the log; false when nothing was there. The
  // pipes are non-blocking: a process the container left behind may hold them open forever.
  bool Pump(Container& c, bool is_out) {
    char buf[65536];
    UniqueFd& fd = is_out ? c.out_fd : c.err_fd;
    CriLogStream& stream = is_out ? *c.out : *c.err;
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n > 0) {
      stream.Feed(absl::string_view(buf, static_cast<size_t>(n))).IgnoreError();
      Fanout(c, is_out, buf, static_cast<size_t>(n));
      return true;
    }
    // A terminal whose last writer is gone reads EIO, not EOF.
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return false;
    stream.Close().IgnoreError();  // EOF: every writer is gone
    fd.Reset();
    return false;
  }

  // Copies output to the attached clients. Their pipes are non-blocking: a client that does
  // not keep up loses output rather than stall the pod's logs.
  void Fanout(Container& c, bool is_out, const char* data, size_t n) {
    for (Attachment& a : c.attachments) {
      UniqueFd& fd = is_out ? a.out : a.err;
      if (!fd) continue;
      if (::write(fd.get(), data, n) < 0 && errno != EAGAIN) fd.Reset();
    }
  }

  void FlushInput(Container& c) {
    while (c.in_w && !c.in_pending.empty()) {
      const ssize_t n = ::write(c.in_w.get(), c.in_pending.data(), c.in_pending.size());
      if (n < 0 && errno == EAGAIN) return;
      if (n <= 0) {  // the container closed its stdin
        c.in_pending.clear();
        c.in_w.Reset();
        return;
      }
      c.in_pending.erase(0, static_cast<size_t>(n));
    }
    if (c.close_in_when_flushed) c.in_w.Reset();
  }

  void ReadInput(Container& c, std::list<Attachment>::iterator a) {
    char buf[65536];
    const ssize_t n = ::read(a->in.get(), buf, sizeof(buf));
    if (n > 0) {
      if (c.in_w) c.in_pending.append(buf, static_cast<size_t>(n));
      FlushInput(c);
      return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    // The client's stdin ended: containerd closes the container's stdin for a stdin_once
    // container without a terminal, and otherwise detaches the client.
    a->in.Reset();
    if (c.stdin_once && !c.tty) {
      c.close_in_when_flushed = true;
      FlushInput(c);
    } else {
      EndAttachment(c, a);
    }
  }

  void DetachIfClosed(Container& c, std::list<Attachment>::iterator a) {
    char buf[256];
    const ssize_t n = ::recv(a->conn.get(), buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR))) return;
    a->conn.Reset();
    EndAttachment(c, a);
  }

  void EndAttachment(Container& c, std::list<Attachment>::iterator a) {
    if (a->conn) Reply(a->conn.get(), {{"ok", true}});
    c.attachments.erase(a);
    attachments_changed_ = true;
  }

  // `wake_fd` is readable when a child may have ended (a signalfd of SIGCHLD on Linux, a
  // kqueue on FreeBSD): drained by the platform, then every ended child is reaped.
  void Reap(int wake_fd) {
    platform_->DrainWakeups(wake_fd);
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      EndExec(pid, status);
      for (auto& [id, c] : containers_) {
        if (c.pid != pid || !c.running) continue;
        // Drains what the process wrote before it ended, so the log is complete first.
        RecordExit(id, c, status);
      }
    }
  }

  void Serve(int listen_fd) {
    UniqueFd conn(::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn) return;
    std::vector<UniqueFd> fds;
    const Json req = Json::parse(ReadRequest(conn.get(), fds), nullptr, false);
    if (req.is_object() && req.value("op", "") == "exec") {
      // Answered when the command ends; the connection waits in execs_ until then.
      if (std::optional<Json> error = Exec(req, fds, conn)) Reply(conn.get(), *error);
      return;
    }
    if (req.is_object() && req.value("op", "") == "attach") {
      if (std::optional<Json> error = Attach(req, fds, conn)) Reply(conn.get(), *error);
      return;
    }
    Reply(conn.get(), Handle(req));
  }

  // Joins a client to a running container's stdio; kept until the container ends or the
  // client detaches.
  std::optional<Json> Attach(const Json& req, std::vector<UniqueFd>& fds, UniqueFd& conn) {
    auto it = containers_.find(req.value("id", ""));
    if (it == containers_.end()) {
      return Error(absl::StrCat("no container ", req.value("id", ""), " in this pod"), "not_found");
    }
    Container& c = it->second;
    if (!c.running) return Error("the container is not running", "invalid");
    const std::vector<bool> has = {req.value("stdin", false), req.value("stdout", false),
                                   req.value("stderr", false)};
    size_t next = 0;
    Attachment a;
    UniqueFd* slots[] = {&a.in, &a.out, &a.err};
    for (size_t i = 0; i < 3; ++i) {
      if (!has[i]) continue;
      if (next >= fds.size()) return Error("attach is missing descriptors", "invalid");
      *slots[i] = std::move(fds[next++]);
      SetNonBlocking(slots[i]->get());
    }
    a.conn = std::move(conn);
    c.attachments.push_back(std::move(a));
    return std::nullopt;
  }

  // Starts an exec session; an error to answer at once, or nullopt when `conn` was kept.
  std::optional<Json> Exec(const Json& req, std::vector<UniqueFd>& fds, UniqueFd& conn) {
    auto it = containers_.find(req.value("id", ""));
    if (it == containers_.end()) {
      return Error(absl::StrCat("no container ", req.value("id", ""), " in this pod"), "not_found");
    }
    Container& c = it->second;
    if (!c.running) return Error("the container is not running", "invalid");
    const bool tty = req.value("tty", false);
    const bool with_stdin = req.value("stdin", false);
    const size_t wanted = tty ? 0 : 2 + with_stdin;
    if (fds.size() != wanted) {
      return Error(tty ? "exec with a terminal takes no descriptors: the shim makes the terminal"
                       : "exec needs its [stdin,] stdout and stderr descriptors",
                   "invalid");
    }
    const Json& s = req.value("spec", Json::object());
    ShimStdio stdio;
    stdio.tty = tty;
    ShimTerminal terminal;
    if (tty) {
      // From the container's own pts: the command's terminal is the container's.
      absl::StatusOr<ShimTerminal> t = platform_->OpenTerminal(c.pid);
      if (!t.ok()) return Error(std::string(t.status().message()));
      terminal = *std::move(t);
      if (::fchown(terminal.slave.get(), s.value("uid", 0u), s.value("gid", 0u)) != 0) {
        return Error(absl::StrCat("chown the exec session's terminal: ", std::strerror(errno)));
      }
      stdio.in = stdio.out = stdio.err = terminal.slave.get();
    } else {
      stdio.in = with_stdin ? fds[0].get() : -1;
      stdio.out = fds[with_stdin ? 1 : 0].get();
      stdio.err = fds[with_stdin ? 2 : 1].get();
    }
    absl::StatusOr<ShimExec> relay = platform_->StartExec(s, c.pid, c.cgroup_procs, stdio);
    if (!relay.ok()) return Error(std::string(relay.status().message()));
    // The terminal's master goes to the daemon first (one byte and the descriptor), the answer
    // when the command ends.
    if (tty && !SendDescriptor(conn.get(), terminal.master.get())) KillRelay(relay->pid);
    ExecCall call;
    call.conn = std::move(conn);
    const int64_t timeout_ms = req.value("timeout_ms", int64_t{0});
    if (timeout_ms > 0) call.deadline = absl::Now() + absl::Milliseconds(timeout_ms);
    const pid_t pid = relay->pid;
    call.relay = *std::move(relay);
    execs_.emplace(pid, std::move(call));
    return std::nullopt;
  }

  Json Handle(const Json& req) {
    if (!req.is_object()) return Error("the request is not a JSON object", "invalid");
    const std::string op = req.value("op", "");
    const std::string id = req.value("id", "");
    if (op == "shutdown") {
      KillAll();
      stop_ = true;
      return {{"ok", true}};
    }
    if (op == "start") return Start(id, req);
    if (op != "kill" && op != "state" && op != "reopen" && op != "forget" && op != "resize") {
      return Error(absl::StrCat("unknown op \"", op, "\""), "invalid");
    }
    auto it = containers_.find(id);
    if (it == containers_.end()) {
      return Error(absl::StrCat("no container ", id, " in this pod"), "not_found");
    }
    Container& c = it->second;
    if (op == "kill") {
      if (c.running && ::kill(c.pid, req.value("signal", SIGTERM)) != 0) {
        return Error(std::strerror(errno));
      }
      return {{"ok", true}};
    }
    if (op == "state") {
      Json r = {{"ok", true}, {"running", c.running}, {"pid", c.pid}};
      if (!c.running) {
        r["exit"] = {{"exit_code", c.exit.exit_code},
                     {"signal", c.exit.signal},
                     {"finished_at_unix_nano", c.exit.finished_at_unix_nano}};
      }
      return r;
    }
    if (op == "forget") {
      if (c.running) return Error("the container still runs", "invalid");
      ::unlink(absl::StrCat(dir_, "/", id, ".exit").c_str());
      containers_.erase(it);
      return {{"ok", true}};
    }
    if (op == "resize") {
      if (!c.tty || !c.out_fd) return Error("the container has no terminal", "invalid");
      winsize size{};
      size.ws_col = static_cast<unsigned short>(req.value("width", 0));
      size.ws_row = static_cast<unsigned short>(req.value("height", 0));
      if (::ioctl(c.out_fd.get(), TIOCSWINSZ, &size) != 0) return Error(std::strerror(errno));
      return {{"ok", true}};
    }
    if (op == "reopen") {
      absl::Status s = c.log->Reopen();
      return s.ok() ? Json{{"ok", true}} : Error(std::string(s.message()));
    }
    return Error("unreachable");
  }

  Json Start(const std::string& id, const Json& req) {
    if (id.empty() || id.find('/') != std::string::npos)
      return Error("bad container id", "invalid");
    if (containers_.count(id) > 0) {
      return Error(absl::StrCat("container ", id, " exists"), "already_exists");
    }
    const Json& s = req.value("spec", Json::object());
    Container c;
    absl::StatusOr<std::unique_ptr<CriLogFile>> log = CriLogFile::Open(req.value("log_path", ""));
    if (!log.ok()) return Error(std::string(log.status().message()));
    c.log = *std::move(log);
    c.out = std::make_unique<CriLogStream>(*c.log, "stdout");
    c.err = std::make_unique<CriLogStream>(*c.log, "stderr");
    c.tty = s.value("tty", false);
    c.stdin_once = s.value("stdin_once", false);
    // The container's end of its stdio: a terminal for all three, or pipes.
    UniqueFd in_r, out_w, err_w, console, console_theirs;
    if (c.tty) {
      // The container's init makes its terminal in its own devpts and sends the master here.
      int pair[2];
      if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
        return Error("socketpair failed");
      }
      console.Reset(pair[0]);
      console_theirs.Reset(pair[1]);
    } else {
      // Each output goes to the file the request names (a Nomad log FIFO: read-write, so the
      // open never waits for a reader), or through a pipe into the CRI log.
      for (const bool is_out : {true, false}) {
        UniqueFd& theirs = is_out ? out_w : err_w;
        const std::string path = s.value(is_out ? "stdout_path" : "stderr_path", "");
        if (!path.empty()) {
          theirs.Reset(::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC | O_NOCTTY));
          if (!theirs) return Error(absl::StrCat("open ", path, ": ", std::strerror(errno)));
          continue;
        }
        int pipe_fds[2];
        if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return Error("pipe failed");
        (is_out ? c.out_fd : c.err_fd).Reset(pipe_fds[0]);
        SetNonBlocking(pipe_fds[0]);
        theirs.Reset(pipe_fds[1]);
      }
      if (s.value("stdin", false)) {
        int in_pipe[2];
        if (::pipe2(in_pipe, O_CLOEXEC) != 0) return Error("pipe failed");
        in_r.Reset(in_pipe[0]);
        c.in_w.Reset(in_pipe[1]);
        SetNonBlocking(in_pipe[1]);
      }
    }

    c.cgroup_procs = s.value("cgroup_procs", std::vector<std::string>{});
    ShimStdio stdio;
    stdio.in = in_r ? in_r.get() : -1;
    stdio.out = out_w.get();
    stdio.err = err_w.get();
    stdio.tty = c.tty;
    stdio.console_socket = console_theirs.get();
    absl::StatusOr<pid_t> started =
        platform_->StartContainer(id, s, stdio, [this](const std::string& other) {
          auto target = containers_.find(other);
          return target == containers_.end() || !target->second.running ? pid_t{-1}
                                                                        : target->second.pid;
        });
    if (!started.ok()) {
      return Error(std::string(started.status().message()),
                   absl::IsInvalidArgument(started.status()) ? "invalid" : "failed");
    }
    if (c.tty) {
      // Sent before the exec that StartContainer waited for.
      console_theirs.Reset();
      c.out_fd = ReceiveDescriptor(console.get());
      if (!c.out_fd) {
        ::kill(*started, SIGKILL);
        return Error("the container's init sent no terminal");
      }
      SetNonBlocking(c.out_fd.get());
      if (s.value("stdin", false)) c.in_w.Reset(::fcntl(c.out_fd.get(), F_DUPFD_CLOEXEC, 0));
    }
    c.pid = *started;
    c.running = true;
    const pid_t pid = c.pid;
    containers_.emplace(id, std::move(c));
    return {{"ok", true}, {"pid", pid}};
  }

  // `code` lets the daemon map errors without parsing text: not_found, already_exists,
  // invalid, failed.
  static Json Error(const std::string& message, const char* code = "failed") {
    return {{"ok", false}, {"error", message}, {"code", code}};
  }

  std::string dir_;
  std::unique_ptr<ShimPlatform> platform_;
  std::map<std::string, Container> containers_;
  std::map<pid_t, ExecCall> execs_;
  bool attachments_changed_ = false;  // an attachment ended while ready ones were handled
  bool stop_ = false;
};

}  // namespace

int RunShimServer(const std::string& dir, std::unique_ptr<ShimPlatform> platform,
                  UniqueFd listen_fd, UniqueFd wake_fd) {
  Shim shim(dir, std::move(platform));
  return shim.Run(std::move(listen_fd), std::move(wake_fd));
}

}  // namespace stockade
